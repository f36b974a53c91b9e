/**
 * Big transfers, Coffer against the bare server, on the same file: each timed run is
 * a fresh load-generator process; the runs alternate between the two servers so a
 * drift of the machine (page cache, another tenant) hits both alike. While a transfer
 * runs, the server process's RSS and CPU are sampled from /proc.
 */
import { benchScript, runChild } from '../child.js';
import type { DownloadInput, DownloadResult } from '../load/download.js';
import type { UploadInput, UploadResult } from '../load/upload.js';
import { ProcSampler, type ProcSample } from '../proc-sampler.js';
import { gibPerSecond } from '../stats.js';

/** A server under test, as the transfer cases see it. */
export interface TransferTarget {
  label: 'coffer' | 'bare';
  pid: number;
  token?: string;
  /** URL to POST the `run`-th upload to. */
  uploadUrl(run: number): string;
  /** Checks what the server answered to an upload (size, digest) and cleans up after it. */
  afterUpload(run: number, result: UploadResult): Promise<void>;
  downloadUrl: string;
}

/** One timed transfer. */
export interface TransferRun {
  seconds: number;
  gibPerSecond: number;
  clientCpuSeconds: number;
  server: ProcSample;
}

/** Timeout of one transfer: generous (25 MiB/s), so only a hang trips it. */
export function transferTimeoutMs(bytes: number): number {
  return Math.max(120_000, (bytes / (25 * 1024 * 1024)) * 1000);
}

async function sampled<T extends { seconds: number; clientCpuSeconds: number }>(pid: number, bytes: number, work: () => Promise<T>): Promise<{ result: T; run: TransferRun }> {
  const sampler = new ProcSampler(pid);
  sampler.start();
  let server: ProcSample;
  let result: T;
  try {
    result = await work();
  } finally {
    server = sampler.stop();
  }
  return { result, run: { seconds: result.seconds, gibPerSecond: gibPerSecond(bytes, result.seconds), clientCpuSeconds: result.clientCpuSeconds, server } };
}

/** Uploads `file` (`bytes` long) once to `target`; `run` numbers the upload (0 = warm-up). */
export async function uploadOnce(target: TransferTarget, file: string, bytes: number, run: number): Promise<TransferRun> {
  const input: UploadInput = { url: target.uploadUrl(run), file, size: bytes, timeoutMs: transferTimeoutMs(bytes), ...(target.token ? { token: target.token } : {}) };
  const { result, run: measured } = await sampled(target.pid, bytes, () => runChild<UploadResult>(benchScript('load/upload'), input, input.timeoutMs + 10_000));
  await target.afterUpload(run, result);
  return measured;
}

/** Downloads the target's object once; with `hash`, also returns its SHA-256 (an untimed check). */
export async function downloadOnce(target: TransferTarget, bytes: number, hash: boolean): Promise<TransferRun & { sha256: string | null }> {
  const input: DownloadInput = { url: target.downloadUrl, expectedBytes: bytes, hash, timeoutMs: transferTimeoutMs(bytes), ...(target.token ? { token: target.token } : {}) };
  const { result, run } = await sampled(target.pid, bytes, () => runChild<DownloadResult>(benchScript('load/download'), input, input.timeoutMs + 10_000));
  return { ...run, sha256: result.sha256 };
}

/** `runs` timed rounds; each round does `once` on every target in turn. Returns the runs per target label. */
export async function alternate(targets: readonly TransferTarget[], runs: number, once: (target: TransferTarget, run: number) => Promise<TransferRun>, log: (line: string) => void): Promise<Map<string, TransferRun[]>> {
  const out = new Map<string, TransferRun[]>(targets.map((t) => [t.label, []]));
  for (let run = 1; run <= runs; run++) {
    for (const target of targets) {
      const r = await once(target, run);
      out.get(target.label)!.push(r);
      log(`  run ${run} ${target.label.padEnd(6)} ${r.gibPerSecond.toFixed(3)} GiB/s  (${r.seconds.toFixed(2)} s, server CPU ${r.server.cpuSeconds.toFixed(2)} s, peak RSS ${(r.server.peakRssBytes / 2 ** 20).toFixed(0)} MiB)`);
    }
  }
  return out;
}
