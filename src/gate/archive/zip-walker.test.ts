import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'fflate';
import { crc32 } from 'node:zlib';
import { scanBytes, type GateReport } from '../artifact-scan.js';

interface Entry {
  name: string;
  data: Buffer;
  deflate?: boolean;
  /** Sizes only in a data descriptor after the data (flag bit 3). */
  descriptor?: boolean;
}

/** A zip written by hand, so tests control every field. */
function zip(entries: Entry[], tweak?: (central: Buffer[], locals: number[]) => void): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const locals: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate === true ? Buffer.from(deflateSync(e.data)) : e.data;
    const crc = crc32(e.data);
    const name = Buffer.from(e.name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(e.descriptor === true ? 0x808 : 0x800, 6);
    h.writeUInt16LE(e.deflate === true ? 8 : 0, 8);
    if (e.descriptor !== true) {
      h.writeUInt32LE(crc, 14);
      h.writeUInt32LE(body.length, 18);
      h.writeUInt32LE(e.data.length, 22);
    }
    h.writeUInt16LE(name.length, 26);
    locals.push(offset);
    const rec = [h, name, body];
    if (e.descriptor === true) {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crc, 4);
      d.writeUInt32LE(body.length, 8);
      d.writeUInt32LE(e.data.length, 12);
      rec.push(d);
    }
    const all = Buffer.concat(rec);
    parts.push(all);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(e.descriptor === true ? 0x808 : 0x800, 8);
    c.writeUInt16LE(e.deflate === true ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(Buffer.concat([c, name]));
    offset += all.length;
  }
  tweak?.(central, locals);
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

function scanIn(bytes: Buffer, chunk: number): GateReport {
  const { ArtifactScan } = scanModule;
  const s = new ArtifactScan({ name: 'model.pt' });
  for (let i = 0; i < bytes.length; i += chunk) s.write(bytes.subarray(i, i + chunk));
  return s.end();
}
const scanModule = await import('../artifact-scan.js');

const EVIL = Buffer.from("\x80\x02cos\nsystem\n(S'id'\ntR.", 'latin1');
const BENIGN = Buffer.from('\x80\x02}q\x00.', 'latin1');

test('a malicious data.pkl is found in stored, deflated and data-descriptor entries, however the stream is cut', () => {
  for (const shape of [{}, { deflate: true }, { descriptor: true }, { deflate: true, descriptor: true }]) {
    const z = zip([{ name: 'archive/version', data: Buffer.from('3\n') }, { name: 'archive/data.pkl', data: EVIL, ...shape }, { name: 'archive/data/0', data: Buffer.alloc(64, 1), ...shape }]);
    for (const chunk of [1, 7, 64, z.length]) {
      const r = scanIn(z, chunk);
      assert.equal(r.format, 'zip');
      assert.deepEqual(r.unsafeCode.counts, { 'pickle-dangerous-global': 1 }, `${JSON.stringify(shape)} chunk ${chunk}`);
      assert.equal(r.unsafeCode.findings[0]!.location.entry, 'archive/data.pkl');
      assert.ok(r.unsafeCode.formats.includes('torch-zip'));
    }
  }
});

test('a benign checkpoint is clean', () => {
  const r = scanBytes(zip([{ name: 'archive/data.pkl', data: BENIGN }, { name: 'archive/data/0', data: Buffer.alloc(32) }]), { name: 'm.pt' });
  assert.equal(r.unsafeCode.outcome, 'clean');
});

test('a central directory that disagrees with the walked entries is a finding (loaders read the central directory)', () => {
  const z = zip([{ name: 'archive/data.pkl', data: BENIGN }], (central) => {
    central[0]!.writeUInt32LE(999, 42);
  });
  assert.equal(scanBytes(z).unsafeCode.counts['archive-inconsistent'], 1);
  const dup = zip([{ name: 'a.pkl', data: BENIGN }, { name: 'a.pkl', data: EVIL }]);
  assert.equal(scanBytes(dup).unsafeCode.counts['archive-duplicate-entry'], 1);
});

test('entry names leaving the extraction folder are findings', () => {
  const r = scanBytes(zip([{ name: '../../etc/cron.d/x', data: Buffer.from('* * * * * root id\n') }]));
  assert.equal(r.unsafeCode.counts['archive-path-traversal'], 1);
});

test('a zip bomb costs no more than the entry limit', () => {
  // 256 MiB of a valid pickle opcode run (NONE POP ...) deflated to a few hundred KiB
  const unit = Buffer.from('N0'.repeat(1 << 19), 'latin1');
  const chunks: Buffer[] = [Buffer.from('\x80\x04', 'latin1')];
  for (let i = 0; i < 256; i++) chunks.push(unit);
  const z = zip([{ name: 'archive/data.pkl', data: Buffer.concat(chunks), deflate: true }]);
  assert.ok(z.length < 2 * 1024 * 1024);
  const before = process.memoryUsage().rss;
  const r = new scanModule.ArtifactScan({ name: 'bomb.pt', limits: { maxEntryBytes: 8 * 1024 * 1024 } });
  for (let i = 0; i < z.length; i += 65536) r.write(z.subarray(i, i + 65536));
  const report = r.end();
  assert.equal(report.unsafeCode.counts['scan-limit'], 1);
  assert.equal(report.unsafeCode.outcome, 'unscannable');
  assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
});

test('truncated archives and bytes after the end record are findings', () => {
  const z = zip([{ name: 'archive/data.pkl', data: BENIGN }]);
  const cut = scanBytes(z.subarray(0, z.length - 30));
  assert.equal(cut.unsafeCode.outcome, 'unscannable');
  assert.equal(cut.secrets.outcome, 'unscannable');
  assert.equal(scanBytes(Buffer.concat([z, Buffer.from('polyglot tail')])).unsafeCode.counts['archive-malformed'], 1);
});

test('encrypted entries cannot be judged: unscannable', () => {
  const z = zip([{ name: 'a.pkl', data: BENIGN }]);
  z.writeUInt16LE(0x801, 6);
  assert.equal(scanBytes(z).unsafeCode.outcome, 'unscannable');
});
