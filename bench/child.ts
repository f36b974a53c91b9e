import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A message from a bench child process to the harness. */
export type ChildMessage =
  | { type: 'ready'; value: unknown }
  | { type: 'result'; value: unknown }
  | { type: 'error'; message: string }
  | { type: 'reply'; id: number; value?: unknown; error?: string };

/**
 * Absolute path of a bench script given relative to bench/ without extension, with
 * the extension of the running build: `.ts` under tsx, `.js` once compiled to dist/.
 */
export function benchScript(relative: string): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./${relative}${ext}`, import.meta.url));
}

function spawn(script: string, input: unknown, execArgv: string[]): ChildProcess {
  // the parent's execArgv carries `--import tsx` when the harness runs from source
  return fork(script, [JSON.stringify(input)], { execArgv: [...process.execArgv, ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/**
 * Runs `script` once in a child process with `input` and resolves with the value it
 * reports (see {@link reportResult}). The child is killed if it takes longer than
 * `timeoutMs` or exits without a result.
 */
export function runChild<T>(script: string, input: unknown, timeoutMs: number): Promise<T> {
  const child = spawn(script, input, []);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new Error(`${script} did not finish within ${timeoutMs} ms`)));
    }, timeoutMs);
    child.on('message', (raw) => {
      const msg = raw as ChildMessage;
      if (msg.type === 'result') settle(() => resolve(msg.value as T));
      else if (msg.type === 'error') settle(() => reject(new Error(`${script}: ${msg.message}`)));
    });
    child.once('error', (err) => settle(() => reject(err)));
    // 'close' (not 'exit') comes after the IPC channel is drained, so a last result is never lost
    child.once('close', (code, signal) => settle(() => reject(new Error(`${script} exited (${code ?? signal}) without a result`))));
  });
}

/** A long-running child (a server) started with {@link startChildServer}. */
export interface ChildServer<R> {
  pid: number;
  /** What the child reported once listening. */
  ready: R;
  /** Runs a command the child registered (see {@link reportReady}) and resolves with its answer. */
  command(name: string, arg?: unknown, timeoutMs?: number): Promise<unknown>;
  /** Asks the child to close and exit; kills it if it has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `script` as a server child and resolves once it reports `ready` (see
 * {@link reportReady}); `execArgv` adds Node flags.
 */
export function startChildServer<R>(script: string, input: unknown, options: { execArgv?: string[]; timeoutMs?: number } = {}): Promise<ChildServer<R>> {
  const child = spawn(script, input, options.execArgv ?? []);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  child.on('message', (raw) => {
    const msg = raw as ChildMessage;
    if (msg.type !== 'reply') return;
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error !== undefined) waiter?.reject(new Error(`${script}: ${msg.error}`));
    else waiter?.resolve(msg.value);
  });
  void exited.then(() => {
    for (const w of pending.values()) w.reject(new Error(`${script} exited`));
    pending.clear();
  });
  const command = (name: string, arg?: unknown, timeoutMs = 60_000) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${script}: command ${name} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      child.send({ type: 'command', id, name, arg });
    });
  return new Promise<ChildServer<R>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} was not ready within ${options.timeoutMs ?? 60_000} ms`));
    }, options.timeoutMs ?? 60_000);
    child.on('message', (raw) => {
      const msg = raw as ChildMessage;
      if (msg.type === 'error') {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${script}: ${msg.message}`));
      } else if (msg.type === 'ready') {
        clearTimeout(timer);
        resolve({
          pid: child.pid!,
          ready: msg.value as R,
          command,
          stop: async (timeoutMs = 30_000) => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.send({ type: 'stop' });
            const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            await exited;
            clearTimeout(kill);
          },
        });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready`));
    });
  });
}

/** In a child: the input the harness passed (JSON in argv[2]). */
export function childInput<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('bench child started without input');
  return JSON.parse(raw) as T;
}

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('bench child has no IPC channel: start it through the harness'));
      return;
    }
    process.send(msg, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** In a child: reports its one result, then exits. */
export async function reportResult(value: unknown): Promise<never> {
  await send({ type: 'result', value });
  process.exit(0);
}

/** In a child: reports a failure, then exits non-zero. */
export async function reportError(err: unknown): Promise<never> {
  await send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }).catch(() => undefined);
  process.exit(1);
}

/** What a server child does on the harness's requests. */
export interface ServerHandlers {
  /** Closes the server; the child exits afterwards. */
  stop: () => Promise<void>;
  /** Named commands the harness can run with ChildServer.command. */
  commands?: Record<string, (arg: unknown) => Promise<unknown>>;
}

/** In a server child: reports it is listening and serves the harness's stop and commands. */
export async function reportReady(value: unknown, handlers: ServerHandlers): Promise<void> {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    handlers.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (raw) => {
    const msg = raw as { type?: string; id?: number; name?: string; arg?: unknown };
    if (msg.type === 'stop') stop();
    if (msg.type !== 'command' || typeof msg.id !== 'number') return;
    const id = msg.id;
    const handler = handlers.commands?.[msg.name ?? ''];
    const run = handler === undefined ? Promise.reject(new Error(`unknown command ${msg.name}`)) : handler(msg.arg);
    run.then(
      (v) => send({ type: 'reply', id, value: v }),
      (err: unknown) => send({ type: 'reply', id, error: err instanceof Error ? err.message : String(err) }),
    ).catch(() => undefined);
  });
  // the harness going away (crash, Ctrl-C) must not leave the server running
  process.once('disconnect', stop);
  await send({ type: 'ready', value });
}
