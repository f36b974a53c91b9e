/**
 * No input crashes a scanner or makes it hold unbounded memory: random bytes under every
 * format's name, mutated corpus files, random chunking, and the hostile shapes (zip bomb,
 * huge memo indexes, deep nesting, a 2 GB declared safetensors header). Bounded runs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ArtifactScan, type GateReport } from './artifact-scan.js';
import { CORPUS_DIR, readLabels } from './test-support.js';

const NAMES = ['m.pkl', 'm.pt', 'm.joblib', 'm.npy', 'm.npz', 'm.safetensors', 'm.onnx', 'm.h5', 'm.keras', 'config.json', 'd.csv', 'd.jsonl', 'notes.txt', 'blob'];
const MAGICS = [[0x80, 0x04], [0x50, 0x4b, 0x03, 0x04], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00], [0x78, 0x9c], [0x1f, 0x8b], [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], [0x08, 0x08, 0x3a], [0x10, 0, 0, 0, 0, 0, 0, 0, 0x7b]];

function scanChunked(bytes: Uint8Array, name: string, cuts: number[]): GateReport {
  const s = new ArtifactScan({ name, limits: { maxEntryBytes: 16 * 1024 * 1024, maxTotalInflatedBytes: 32 * 1024 * 1024 } });
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c <= prev || c >= bytes.length) continue;
    s.write(bytes.subarray(prev, c));
    prev = c;
  }
  s.write(bytes.subarray(prev));
  return s.end();
}

function wellFormed(r: GateReport): void {
  for (const v of [r.unsafeCode, r.secrets, r.pii]) {
    assert.ok(['clean', 'flagged', 'unscannable'].includes(v.outcome));
    assert.equal(Object.values(v.counts).reduce((a, b) => a + b, 0) >= v.findings.length, true);
    // a scanner bug is a finding, never a silent pass; it must not happen on any input
    assert.equal(v.counts['scanner-error'], undefined, JSON.stringify(v.findings.filter((f) => f.type === 'scanner-error')));
  }
}

test('random bytes under any name and magic never crash a scanner; chunking does not change the verdict', () => {
  fc.assert(
    fc.property(fc.constantFrom(...NAMES), fc.constantFrom(...MAGICS), fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat(2100), { maxLength: 6 }), (name, magic, body, cuts) => {
      const bytes = Buffer.concat([Buffer.from(magic), body]);
      const whole = scanChunked(bytes, name, []);
      wellFormed(whole);
      assert.deepEqual(scanChunked(bytes, name, cuts), whole);
    }),
    { numRuns: 400 },
  );
});

test('mutated corpus files (bit flips, truncation, splices) never crash a scanner', () => {
  const files = readLabels().models.map((m) => m.file);
  fc.assert(
    fc.property(fc.constantFrom(...files), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.option(fc.nat()), fc.array(fc.nat(), { maxLength: 4 }), (file, flips, cut, cuts) => {
      const original = readFileSync(join(CORPUS_DIR(), file));
      const bytes = Buffer.from(original);
      for (const [at, v] of flips) bytes[at % bytes.length] = v;
      const data = cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
      const whole = scanChunked(data, file.split('/').pop()!, []);
      wellFormed(whole);
      assert.deepEqual(scanChunked(data, file.split('/').pop()!, cuts.map((c) => c % (data.length + 1))), whole);
    }),
    { numRuns: 300 },
  );
});

test('hostile shapes stay within bounded memory', () => {
  const heap = () => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().rss;
  };
  const cases: [string, () => Generator<Buffer>][] = [
    [
      'deep.jsonl',
      function* () {
        // one JSON line nested 200 000 deep, then an unterminated giant line
        yield Buffer.from('['.repeat(200_000) + ']'.repeat(200_000) + '\n');
        for (let i = 0; i < 64; i++) yield Buffer.alloc(1 << 20, 0x61);
      },
    ],
    [
      'memo.pkl',
      function* () {
        yield Buffer.from([0x80, 0x04, 0x4e]);
        for (let i = 0; i < 64; i++) {
          const b = Buffer.alloc(5 * 65536);
          for (let j = 0; j < 65536; j++) {
            b[j * 5] = 0x72;
            b.writeUInt32LE(((i * 65536 + j) * 4099) >>> 0, j * 5 + 1);
          }
          yield b;
        }
        yield Buffer.from('.');
      },
    ],
    [
      'marks.pkl',
      function* () {
        yield Buffer.from([0x80, 0x04]);
        for (let i = 0; i < 32; i++) yield Buffer.alloc(1 << 20, 0x28);
      },
    ],
    [
      'lines.txt',
      function* () {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(1 << 20, 0x41);
      },
    ],
    [
      'big.safetensors',
      function* () {
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(2n * 1024n ** 3n);
        yield Buffer.concat([len, Buffer.from('{"a":{"dtype":"F32"')]);
        for (let i = 0; i < 32; i++) yield Buffer.alloc(1 << 20, 0x20);
      },
    ],
  ];
  for (const [name, gen] of cases) {
    const started = Date.now();
    const before = heap();
    let peak = before;
    const s = new ArtifactScan({ name, limits: { pickleMaxMemo: 100_000 } });
    for (const chunk of gen()) {
      s.write(chunk);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    const r = s.end();
    wellFormed(r);
    process.stdout.write(`# ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s, rss +${((peak - before) / 1048576).toFixed(0)} MiB, unsafe ${r.unsafeCode.outcome}\n`);
    assert.ok(peak - before < 400 * 1024 * 1024, `${name}: rss grew ${(peak - before) >> 20} MiB`);
  }
});
