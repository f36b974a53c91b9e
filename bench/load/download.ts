/**
 * Bench child: one download. `http.get`s the URL, reads the body and throws it away
 * (counting bytes, optionally hashing), and reports the time from sending the request
 * to the last byte. Fails unless the status is 200 and exactly `expectedBytes` arrived.
 */
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { childInput, reportError, reportResult } from '../child.js';
import { authHeaders, cpuSecondsSince } from './client-cpu.js';

/** Input of the download child. */
export interface DownloadInput {
  url: string;
  token?: string;
  expectedBytes: number;
  /** Also compute the SHA-256 of the body (costs client CPU: only for the untimed check). */
  hash: boolean;
  timeoutMs: number;
}

/** What one download measured. */
export interface DownloadResult {
  bytes: number;
  seconds: number;
  /** Time to the response headers. */
  firstByteSeconds: number;
  sha256: string | null;
  clientCpuSeconds: number;
}

function download(input: DownloadInput): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const hash = input.hash ? createHash('sha256') : null;
    const req = get(input.url, { headers: authHeaders(input.token) }, (res) => {
      const firstByteSeconds = (performance.now() - start) / 1000;
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${input.url}: status ${res.statusCode}`));
        return;
      }
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash?.update(chunk);
      });
      res.once('end', () => {
        const seconds = (performance.now() - start) / 1000;
        if (bytes !== input.expectedBytes) reject(new Error(`GET ${input.url}: ${bytes} bytes, expected ${input.expectedBytes}`));
        else resolve({ bytes, seconds, firstByteSeconds, sha256: hash?.digest('hex') ?? null, clientCpuSeconds: cpuSecondsSince(cpu) });
      });
      res.once('error', reject);
    });
    req.setTimeout(input.timeoutMs, () => req.destroy(new Error(`GET ${input.url}: timed out`)));
    req.once('error', reject);
  });
}

download(childInput<DownloadInput>()).then(reportResult, reportError);
