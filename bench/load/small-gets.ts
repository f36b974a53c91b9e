/**
 * Bench child: many small GETs. `connections` loops share one keep-alive `http.Agent`
 * with as many sockets; each loop sends the next request as soon as the previous
 * answer is read. A warm-up phase (not counted) precedes the measured phase. Every
 * answer must be 200 with exactly `expectedBytes`, else it counts as an error.
 */
import { Agent, get } from 'node:http';
import { childInput, reportError, reportResult } from '../child.js';
import { percentile } from '../stats.js';
import { authHeaders, cpuSecondsSince } from './client-cpu.js';

/** Input of the small-GETs child. */
export interface SmallGetsInput {
  url: string;
  token?: string;
  connections: number;
  expectedBytes: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** What the measured phase gave. */
export interface SmallGetsResult {
  /** Requests answered during the warm-up (not in the figures). */
  warmupRequests: number;
  requests: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  clientCpuSeconds: number;
}

/** Latencies kept for percentiles; requests past this still count. */
const MAX_SAMPLES = 4_000_000;
const REQUEST_TIMEOUT_MS = 10_000;

const input = childInput<SmallGetsInput>();
const agent = new Agent({ keepAlive: true, maxSockets: input.connections });
const headers = authHeaders(input.token);

function once(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(input.url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.once('end', () => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        else if (bytes !== input.expectedBytes) reject(new Error(`${bytes} bytes, expected ${input.expectedBytes}`));
        else resolve();
      });
      res.once('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timed out')));
    req.once('error', reject);
  });
}

async function phase(seconds: number, latencies: Float64Array | null) {
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  let samples = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: input.connections }, async () => {
      // bounded by the deadline: no request starts after it
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await once();
          const ms = performance.now() - t0;
          requests++;
          if (latencies !== null && samples < latencies.length) latencies[samples++] = ms;
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  return { requests, errors, firstError, samples, seconds: (performance.now() - start) / 1000 };
}

async function main(): Promise<SmallGetsResult> {
  const warm = await phase(input.warmupSeconds, null);
  const latencies = new Float64Array(MAX_SAMPLES);
  const cpu = process.cpuUsage();
  const r = await phase(input.durationSeconds, latencies);
  const clientCpuSeconds = cpuSecondsSince(cpu);
  agent.destroy();
  const sorted = latencies.subarray(0, r.samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    warmupRequests: warm.requests + warm.errors,
    requests: r.requests,
    errors: r.errors,
    firstError: r.firstError,
    seconds: r.seconds,
    requestsPerSecond: r.requests / r.seconds,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
      mean: sorted.length > 0 ? sum / sorted.length : NaN,
    },
    clientCpuSeconds,
  };
}

main().then(reportResult, reportError);
