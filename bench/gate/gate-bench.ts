/**
 * Scan throughput of the artifact gate (src/gate/) per kind of content, beside SHA-256
 * over the same bytes in the same process: the upload path already hashes every byte, so
 * SHA-256 is the yardstick a scan is weighed against. Each workload is generated in
 * memory (seeded, deterministic), fed to `ArtifactScan` in 64 KiB chunks as an upload tee
 * would, and the scan and the hash alternate `runs` times; medians are reported.
 * Runs in the harness process (nothing else runs meanwhile).
 */
import { createHash } from 'node:crypto';
import { zipSync } from 'fflate';
import { ArtifactScan } from '../../src/gate/index.js';
import type { BenchRow } from '../bench-row.js';
import { median } from '../stats.js';

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** A deterministic xorshift PRNG (bench data must not depend on the run). */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(r() * 0x100000000), i);
  return b;
}

/** An opcode-dense pickle: a list of small dicts (the shape of a pickled Python dataset). */
function densePickle(bytes: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 0x04, 0x5d, 0x94, 0x28])];
  let size = 5;
  let i = 0;
  while (size < bytes - 64) {
    // {'id': i, 'label': 'cat', 'score': 0.5}, memoized keys after the first
    const rec = i === 0 ? Buffer.from('}\x94(\x8c\x02id\x94J\x00\x00\x00\x00\x8c\x05label\x94\x8c\x03cat\x94\x8c\x05score\x94G?\xe0\x00\x00\x00\x00\x00\x00u', 'latin1') : Buffer.from('}(h\x01J\x00\x00\x00\x00h\x02h\x03h\x04G?\xe0\x00\x00\x00\x00\x00\x00u', 'latin1');
    parts.push(rec);
    size += rec.length;
    i++;
    if (i % 1000 === 0) {
      parts.push(Buffer.from('e(', 'latin1'));
      size += 2;
    }
  }
  parts.push(Buffer.from('e.', 'latin1'));
  return Buffer.concat(parts);
}

/** A PyTorch zip checkpoint: a small data.pkl and big stored tensor storages. */
function torchZip(bytes: number): Buffer {
  const pkl = Buffer.from("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.", 'latin1');
  const files: Record<string, [Uint8Array, { level: 0 }]> = { 'archive/data.pkl': [pkl, { level: 0 }], 'archive/version': [Buffer.from('3\n'), { level: 0 }] };
  const per = 16 * MIB;
  for (let k = 0; k * per < bytes; k++) files[`archive/data/${k}`] = [randomBytes(Math.min(per, bytes - k * per), 100 + k), { level: 0 }];
  return Buffer.from(zipSync(files));
}

/** A safetensors file: one F32 tensor filling the size. */
function safetensors(bytes: number): Buffer {
  const n = Math.floor(bytes / 4);
  const header = Buffer.from(JSON.stringify({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, randomBytes(n * 4, 7)]);
}

/** A CSV dataset with personal data in a third of the rows. */
function csv(bytes: number): Buffer {
  const r = prng(11);
  const rows = ['id,name,email,phone,notes'];
  let size = rows[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const pii = r() < 0.33;
    const row = `${i},User ${i},${pii ? `user${i}@example.com` : 'n/a'},${pii ? `(415) 555-${String(1000 + (i % 9000))}` : ''},the quick brown fox jumps over the lazy dog ${Math.floor(r() * 1e6)}`;
    rows.push(row);
    size += row.length + 1;
  }
  return Buffer.from(rows.join('\n') + '\n');
}

/** Source code and configuration text with an occasional secret-looking assignment. */
function sourceText(bytes: number): Buffer {
  const r = prng(13);
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const l = i % 97 === 0 ? `api_key = "${Math.floor(r() * 1e16).toString(36)}Zq8#${i}"` : `    result_${i % 50} = compute(values[${i}], scale=${(r() * 10).toFixed(3)})  # step ${i}`;
    lines.push(l);
    size += l.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n');
}

interface Workload {
  name: string;
  file: string;
  make: (bytes: number) => Buffer;
}

const WORKLOADS: Workload[] = [
  { name: 'pickle, opcode-dense', file: 'data.pkl', make: densePickle },
  { name: 'PyTorch zip checkpoint', file: 'model.pt', make: torchZip },
  { name: 'safetensors', file: 'model.safetensors', make: safetensors },
  { name: 'CSV dataset', file: 'data.csv', make: csv },
  { name: 'source text', file: 'train.py', make: sourceText },
  { name: 'opaque binary', file: 'blob.raw', make: (n) => randomBytes(n, 5) },
];

function scanOnce(data: Buffer, file: string): { seconds: number; outcome: string } {
  const t = process.hrtime.bigint();
  const scan = new ArtifactScan({ name: file });
  for (let i = 0; i < data.length; i += CHUNK) scan.write(data.subarray(i, i + CHUNK));
  const r = scan.end();
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, outcome: `${r.unsafeCode.outcome}/${r.secrets.outcome}/${r.pii.outcome}` };
}

function hashOnce(data: Buffer): number {
  const t = process.hrtime.bigint();
  const h = createHash('sha256');
  for (let i = 0; i < data.length; i += CHUNK) h.update(data.subarray(i, i + CHUNK));
  h.digest();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Runs every workload of `mib` MiB `runs` times; one row per workload. */
export function runGateBench(mib: number, runs: number, log: (line: string) => void): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const w of WORKLOADS) {
    const data = w.make(mib * MIB);
    const size = data.length / MIB;
    scanOnce(data, w.file); // warm-up (JIT), not timed
    const scans: number[] = [];
    const hashes: number[] = [];
    let outcome = '';
    for (let i = 0; i < runs; i++) {
      const s = scanOnce(data, w.file);
      outcome = s.outcome;
      scans.push(size / s.seconds);
      hashes.push(size / hashOnce(data));
    }
    const scan = median(scans);
    const sha = median(hashes);
    log(`  gate ${w.name}: scan ${scan.toFixed(1)} MiB/s, SHA-256 ${sha.toFixed(1)} MiB/s (verdicts ${outcome})`);
    rows.push({
      name: `gate scan: ${w.name}, ${size.toFixed(0)} MiB`,
      unit: 'MiB/s',
      coffer: scan,
      baseline: sha,
      better: 'higher',
      target: null,
      pass: null,
      note: `ArtifactScan (all three scanners: unsafe code, secrets, personal data) fed 64 KiB chunks, in process, vs node:crypto SHA-256 of the same bytes in the same chunks; median of ${runs} alternating runs after one untimed scan; verdicts unsafe/secrets/pii: ${outcome}`,
    });
  }
  return rows;
}
