import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A message from a bench child process to the harness. */
export type ChildMessage =
  | { type: 'ready'; value: unknown }
  | { type: 'result'; value: unknown }
  | { type: 'error'; message: string };

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
  /** Asks the child to close and exit; kills it if it has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `script` as a server child and resolves once it reports `ready` (see
 * {@link reportReady}); `execArgv` adds Node flags (e.g. `--cpu-prof`).
 */
export function startChildServer<R>(script: string, input: unknown, options: { execArgv?: string[]; timeoutMs?: number } = {}): Promise<ChildServer<R>> {
  const child = spawn(script, input, options.execArgv ?? []);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
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

/** In a server child: reports it is listening and calls `onStop` when the harness asks it to stop. */
export async function reportReady(value: unknown, onStop: () => Promise<void>): Promise<void> {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    onStop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (raw) => {
    if ((raw as { type?: string }).type === 'stop') stop();
  });
  // the harness going away (crash, Ctrl-C) must not leave the server running
  process.once('disconnect', stop);
  await send({ type: 'ready', value });
}
