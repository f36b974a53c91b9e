#!/usr/bin/env node
// Micro-measure (not a test) of encrypted-object throughput: the crypto streams in
// memory, then the vault over the filesystem blob store (page cache; disk may differ).
// Run: node --import tsx scripts/measure-crypto.mjs [MiB=256] [segmentKiB=64]
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Keyring,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  encryptObject,
  objectHeaderLength,
  parseObjectHeader,
  planRangeRead,
} from '../src/crypto/index.ts';
import { FsBlobStore } from '../src/store/fs/fs-blob-store.ts';
import { EncryptingVault } from '../src/vault/index.ts';

const mib = Number(process.argv[2] ?? 256);
const segmentSize = Number(process.argv[3] ?? 64) * 1024;
const total = mib * 1024 * 1024;
const chunkSize = 64 * 1024;
const source = randomBytes(8 * 1024 * 1024);
const dataKey = randomBytes(32);
const objectId = 'ver_measure';

function* plainChunks() {
  for (let sent = 0; sent < total; sent += chunkSize) {
    const at = sent % source.length;
    yield source.subarray(at, at + Math.min(chunkSize, total - sent));
  }
}
const discard = () => new Writable({ highWaterMark: 1 << 20, write: (_c, _e, cb) => cb() });
// wall-clock rate, and bytes per CPU-second of the whole process (steadier on a shared machine)
const time = async (label, bytes, run) => {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await run();
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuS = (used.user + used.system) / 1e6;
  const gib = bytes / 2 ** 30;
  console.log(`${label.padEnd(46)} ${(gib / s).toFixed(2)} GiB/s wall  ${(gib / cpuS).toFixed(2)} GiB/cpu-s  (${(bytes / 2 ** 20).toFixed(0)} MiB in ${s.toFixed(2)} s)`);
};

console.log(`segment size ${segmentSize / 1024} KiB, ${mib} MiB, node ${process.version}`);
await time('stream encrypt (memory)', total, () => pipeline(Readable.from(plainChunks()), createEncryptStream({ dataKey, objectId, keyTerm: 1, segmentSize }), discard()));

const plaintext = Buffer.alloc(total);
for (let at = 0; at < total; at += source.length) source.copy(plaintext, at);
const ciphertext = encryptObject(plaintext, { dataKey, objectId, keyTerm: 1, segmentSize });
function* cipherChunks(from = 0, to = ciphertext.length) {
  for (let at = from; at < to; at += chunkSize) yield ciphertext.subarray(at, Math.min(at + chunkSize, to));
}
await time('stream decrypt (memory, 64 KiB reads)', total, () => pipeline(Readable.from(cipherChunks()), createDecryptStream(dataKey, { objectId, plaintextSize: total }), discard()));
const header = parseObjectHeader(ciphertext.subarray(0, objectHeaderLength(objectId)), objectId);
const plan = planRangeRead({ headerLength: header.bytes.length, segmentSize, plaintextSize: total }, { start: 12345, end: total - 777 });
await time('ranged decrypt (memory)', plan.length, () => pipeline(Readable.from(cipherChunks(plan.cipherStart, plan.cipherEnd + 1)), createRangeDecryptStream(dataKey, header, plan), discard()));

const dir = await mkdtemp(join(tmpdir(), 'coffer-measure-'));
try {
  const keyringStore = { value: null, load() { return Promise.resolve(this.value); }, save(v) { this.value = v; return Promise.resolve(true); } };
  const vault = new EncryptingVault({ blobStore: new FsBlobStore(dir), keyring: await Keyring.open({ rootKey: randomBytes(32), store: keyringStore }), segmentSize });
  let sealed;
  await time('vault seal (sha256 + encrypt + fs put, fsync)', total, async () => {
    sealed = await vault.seal(objectId, Readable.from(plainChunks()));
  });
  const ref = { objectId, blobKey: sealed.blobKey, size: sealed.size, wrappedKey: sealed.wrappedKey, keyTerm: sealed.keyTerm };
  for (let i = 0; i < 2; i++) await time('vault open (fs get + decrypt)', total, async () => pipeline(await vault.open(ref), discard()));
  await time('vault open range (fs get + decrypt)', total - 2000, async () => pipeline(await vault.open(ref, { range: { start: 1000, end: total - 1001 } }), discard()));
} finally {
  await rm(dir, { recursive: true, force: true });
}
