/**
 * Runs the monitor benchmarks alone (`node dist/bench/monitor/run.js`) and prints their
 * rows as JSON: the soak of two real servers, monitor on and off (soak-bench.ts), then
 * the detectors in process (monitor-bench.ts). `--engine-only` skips the soak,
 * `--soak-only` the detectors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorRows, runMonitorBench } from './monitor-bench.js';
import { monitorSoakRows, runMonitorSoak, type MonitorSoakResult } from './soak-bench.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
let soak: MonitorSoakResult | null = null;
if (!process.argv.includes('--engine-only')) {
  const root = await mkdtemp(join(tmpdir(), 'coffer-monitor-soak-'));
  try {
    soak = await runMonitorSoak(root, log);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
const result = process.argv.includes('--soak-only') ? null : runMonitorBench(log);
const rows = [...(soak === null ? [] : monitorSoakRows(soak)), ...(result === null ? [] : monitorRows(result))];
process.stdout.write(JSON.stringify({ rows, soak, result }, null, 1) + '\n');
