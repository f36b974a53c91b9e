import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { cleanEnv, cliArgs, repoRoot } from './paths.js';

/** A `coffer server` running as a child process. */
export interface ServerProcess {
  /** Base URL it listens on (`http://127.0.0.1:PORT`). */
  url: string;
  /** Base URL of its S3 endpoint, or null when it has none. */
  s3Url: string | null;
  /** The one-time setup token it printed, or null (an admin exists). */
  setupToken: string | null;
  pid: number;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** True until the process has exited (for whatever reason). */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** `kill -9`; resolves once the process is gone. */
  kill9(): Promise<void>;
}

/**
 * Starts `coffer server --data-dir DIR --listen 127.0.0.1:0` as a subprocess and
 * waits (at most `timeoutMs`, default 60 s) for its "listening" line on stderr,
 * reading the setup token printed before it.
 */
export async function startServerProcess(dataDir: string, options: { env?: Record<string, string>; args?: string[]; timeoutMs?: number } = {}): Promise<ServerProcess> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [...cliArgs(), 'server', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--log-level', 'warn', ...(options.args ?? [])],
    { cwd: repoRoot(), env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  // logs go to stdout: drain them so the child never blocks on a full pipe
  child.stdout.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const waitExit = async (ms: number): Promise<boolean> => {
    if (gone()) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([exited.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  };
  const kill9 = async () => {
    if (!gone()) child.kill('SIGKILL');
    await exited;
  };

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coffer server did not start in ${options.timeoutMs ?? 60_000} ms; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      const m = /coffer listening on (\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`coffer server exited during start (code ${code}, signal ${signal}); stderr:\n${stderr}`));
    });
  });
  const token = /--setup-token (\S+)/.exec(stderr);
  const s3 = /coffer S3 endpoint on (\S+)/.exec(stderr);
  return {
    url,
    s3Url: s3 ? s3[1]! : null,
    setupToken: token ? token[1]! : null,
    pid: child.pid!,
    stderr: () => stderr,
    alive: () => !gone(),
    stop: async () => {
      if (gone()) return;
      child.kill('SIGTERM');
      if (!(await waitExit(10_000))) await kill9();
    },
    kill9,
  };
}
