import { spawn } from 'node:child_process';
import { cleanEnv, cliArgs, repoRoot } from './paths.js';

/** What a finished CLI run printed, and how it exited. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `coffer ARGS` as a subprocess (asynchronously, so an in-process server in the
 * same test process keeps serving). `env` is added to a clean environment (no
 * inherited `COFFER_*`). Killed after `timeoutMs` (default 60 s).
 */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; stdin?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args], {
      cwd: repoRoot(),
      env: cleanEnv(options.env),
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coffer ${args.join(' ')} did not finish in ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
