#!/usr/bin/env node
/**
 * `npm run sim`: runs the labelled traffic simulation through the detectors and prints
 * the report. Flags: --seed N --people N --pipelines N --days N --warmup N
 * --bulk N --slow N --token N --enum N --spread N --drain N (attacks), --dvc N --sync N
 * (legitimate bulk reads), --json.
 */
import { parseArgs } from 'node:util';
import { formatReport } from './format-report.js';
import { runSimulation } from './run-simulation.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    people: { type: 'string', default: '40' },
    pipelines: { type: 'string', default: '12' },
    days: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '21' },
    bulk: { type: 'string', default: '10' },
    slow: { type: 'string', default: '10' },
    token: { type: 'string', default: '10' },
    enum: { type: 'string', default: '6' },
    spread: { type: 'string', default: '6' },
    drain: { type: 'string', default: '6' },
    dvc: { type: 'string', default: '10' },
    sync: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const n = (s: string | undefined) => {
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`not a count: ${s}`);
  return v;
};
const report = runSimulation({
  seed: n(values.seed),
  people: n(values.people),
  pipelines: n(values.pipelines),
  days: n(values.days),
  warmupDays: n(values.warmup),
  attacks: {
    'bulk-exfiltration': n(values.bulk),
    'slow-and-low': n(values.slow),
    'stolen-token': n(values.token),
    enumeration: n(values.enum),
    'spread-projects': n(values.spread),
    'restricted-drain': n(values.drain),
  },
  bulkReads: { 'dvc-pull': n(values.dvc), 's3-sync': n(values.sync) },
});
process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
process.exitCode = report.targets.every((t) => t.pass) ? 0 : 1;
