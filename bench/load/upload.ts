/**
 * Bench child: one upload. POSTs a file (streamed from disk with a Content-Length) and
 * reports the time from sending the request to the end of the response, which both
 * servers send only once the body is durably stored.
 */
import { createReadStream } from 'node:fs';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { childInput, reportError, reportResult } from '../child.js';
import { authHeaders, cpuSecondsSince } from './client-cpu.js';

/** Input of the upload child. */
export interface UploadInput {
  url: string;
  token?: string;
  file: string;
  size: number;
  timeoutMs: number;
}

/** What one upload measured, with the server's JSON answer. */
export interface UploadResult {
  bytes: number;
  seconds: number;
  status: number;
  body: unknown;
  clientCpuSeconds: number;
}

function upload(input: UploadInput): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const req = request(
      input.url,
      { method: 'POST', headers: { ...authHeaders(input.token), 'content-type': 'application/octet-stream', 'content-length': String(input.size) } },
      (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          // the answer is a small JSON document; a runaway body is an error, not something to buffer
          length += chunk.length;
          if (length > 1024 * 1024) res.destroy(new Error('answer too large'));
          else chunks.push(chunk);
        });
        res.once('end', () => {
          const seconds = (performance.now() - start) / 1000;
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 201) {
            reject(new Error(`POST ${input.url}: status ${res.statusCode}: ${text.slice(0, 500)}`));
            return;
          }
          resolve({ bytes: input.size, seconds, status: res.statusCode, body: JSON.parse(text) as unknown, clientCpuSeconds: cpuSecondsSince(cpu) });
        });
        res.once('error', reject);
      },
    );
    req.setTimeout(input.timeoutMs, () => req.destroy(new Error(`POST ${input.url}: timed out`)));
    req.once('error', reject);
    pipeline(createReadStream(input.file), req).catch(reject);
  });
}

upload(childInput<UploadInput>()).then(reportResult, reportError);
