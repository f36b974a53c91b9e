/**
 * A strict, streaming walk of a ZIP archive (PyTorch checkpoints, .keras, .npz, plain
 * zips): local entries in order, each entry's bytes passed to the scanner its name and
 * content call for (inflated with fflate's streaming `Inflate`, bounded), then the central
 * directory, cross-checked against what was walked.
 *
 * Why not fflate's `Unzip` (or unzipper, unzip-stream): those resynchronise by hunting
 * for the next local-header signature anywhere in the stream and keep the chunks of
 * entries nobody started, so what they show can differ from what a loader reads. Loaders
 * (PyTorch's miniz, Python's zipfile) go by the central directory at the end. A gate must
 * judge what the loader will load, so this walk accepts only records that follow each
 * other exactly, and every central-directory entry must point at a local entry it walked
 * with the same name, method and size; anything else is a finding.
 *
 * Entries whose sizes follow in a data descriptor (flag bit 3) are delimited by finding
 * the descriptor whose recorded compressed size equals the bytes read so far; the
 * central-directory check then confirms that boundary.
 */
import { Inflate } from 'fflate';
import type { ScopedFindings } from '../core/findings.js';
import type { GateLimits } from '../core/limits.js';
import { skip, some, take, type Need, type PullDriver } from '../core/pull-driver.js';
import type { StreamScanner } from '../core/stream-scanner.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_EOCD = 0x06054b50;
const U32_MAX = 0xffffffff;

/** What the walk knows of an entry when it reaches it. */
export interface ZipEntryInfo {
  name: string;
  /** 0 stored, 8 deflated (others are not scannable). */
  method: number;
  /** Null when the sizes follow in a data descriptor. */
  compressedSize: number | null;
  /** Offset of the local header in the archive. */
  offset: number;
}

/** What the walk needs from its caller. */
export interface ZipWalkOptions {
  /** Where structural findings go (the unsafe-code verdict: a confused archive can hide code). */
  findings: ScopedFindings;
  driver: PullDriver;
  limits: GateLimits;
  /** A scanner for the entry's uncompressed bytes, or null to skip it without inflating. */
  openEntry(info: ZipEntryInfo): StreamScanner | null;
  /** Called when the rest of the archive cannot be read, so every verdict can say it is incomplete. */
  incomplete(reason: string, offset: number): void;
  /** Uncompressed bytes inflated so far in this artifact (shared budget). */
  inflated: { total: number };
}

interface Walked {
  name: string;
  method: number;
  compressedSize: number;
}

/** Bytes of a descriptor after its optional signature: crc + two sizes (4 or 8 bytes each). */
const descriptorSize = (zip64: boolean) => (zip64 ? 20 : 12);

/** The walk (a PullDriver parser). */
export function* walkZip(o: ZipWalkOptions): Generator<Need, void, unknown> {
  const { findings, driver, limits } = o;
  const walked = new Map<number, Walked>();
  const centralNames = new Set<string>();
  let nameChars = 0;
  let centralCount = 0;
  let sawCentral = false;

  const stop = (type: string, at: number, why: string) => {
    findings.add(type, { offset: at }, why);
    o.incomplete(why, at);
  };

  for (;;) {
    const at = driver.offset;
    const sigBytes = yield* take(4);
    if (sigBytes === null) {
      stop('archive-unreadable', at, 'archive ends before its end-of-central-directory record');
      return;
    }
    const sig = u32(sigBytes, 0);
    if (sig === SIG_LOCAL) {
      if (sawCentral) {
        findings.add('archive-malformed', { offset: at }, 'local entry after the central directory');
      }
      if (walked.size >= limits.maxArchiveEntries) {
        stop('scan-limit', at, `archive has more than ${limits.maxArchiveEntries} entries`);
        return;
      }
      const h = yield* take(26);
      if (h === null) return stop('archive-unreadable', at, 'truncated local header');
      const flags = u16(h, 2);
      const method = u16(h, 4);
      let csize = u32(h, 14);
      let usize = u32(h, 18);
      const nameLen = u16(h, 22);
      const extraLen = u16(h, 24);
      const nameBytes = yield* take(nameLen);
      if (nameBytes === null) return stop('archive-unreadable', at, 'truncated local header');
      const name = entryName(nameBytes, flags);
      const extra = yield* take(extraLen);
      if (extra === null) return stop('archive-unreadable', at, 'truncated local header');
      const z64 = zip64Extra(extra);
      let zip64 = false;
      if (z64 !== null && (usize === U32_MAX || csize === U32_MAX)) {
        zip64 = true;
        if (usize === U32_MAX && z64[0] !== undefined) usize = z64[0];
        if (csize === U32_MAX && z64[1] !== undefined) csize = z64[1];
      } else if (z64 !== null) zip64 = true;
      checkEntryName(findings, name, at);
      const hasDescriptor = (flags & 0x8) !== 0;
      const encrypted = (flags & 0x1) !== 0;
      const sizeKnown = !hasDescriptor || csize !== 0;
      let sink: StreamScanner | null = null;
      if (encrypted || (method !== 0 && method !== 8)) {
        findings.add('unsupported-encoding', { offset: at, entry: name }, encrypted ? 'encrypted archive entry' : `compression method ${method}`);
        o.incomplete(`entry \`${name}\` cannot be read`, at);
      } else sink = o.openEntry({ name, method, compressedSize: sizeKnown ? csize : null, offset: at });
      const feed = entryFeeder(o, name, at, method, sink);
      let consumed: number;
      if (sizeKnown) {
        consumed = yield* pipeSome(csize, feed.push);
        feed.finish();
        if (consumed < csize) return stop('archive-unreadable', at, `entry \`${name}\` is truncated`);
        if (hasDescriptor) {
          const first = yield* take(4);
          if (first === null) return stop('archive-unreadable', at, 'truncated data descriptor');
          const rest = descriptorSize(zip64) - (u32(first, 0) === SIG_DESCRIPTOR ? 0 : 4);
          if ((yield* skip(rest)) < rest) return stop('archive-unreadable', at, 'truncated data descriptor');
        }
      } else {
        const found = yield* huntDescriptor(driver, zip64, feed.push);
        feed.finish();
        if (found === null) return stop('archive-unreadable', at, `no data descriptor closes entry \`${name}\``);
        consumed = found;
      }
      walked.set(at, { name, method, compressedSize: consumed });
      continue;
    }
    if (sig === SIG_CENTRAL) {
      sawCentral = true;
      const h = yield* take(42);
      if (h === null) return stop('archive-unreadable', at, 'truncated central directory');
      const method = u16(h, 6);
      let csize = u32(h, 16);
      const usize = u32(h, 20);
      const nameLen = u16(h, 24);
      const extraLen = u16(h, 26);
      const commentLen = u16(h, 28);
      let offset = u32(h, 38);
      const flags = u16(h, 4);
      const nameBytes = yield* take(nameLen);
      const extra = yield* take(extraLen);
      if (nameBytes === null || extra === null || (yield* skip(commentLen)) < commentLen) return stop('archive-unreadable', at, 'truncated central directory');
      const name = entryName(nameBytes, flags);
      // zip64 extra in the central directory: only the fields whose 32-bit value is saturated, in order
      const z = zip64Extra(extra) ?? [];
      let i = 0;
      if (usize === U32_MAX) i++;
      if (csize === U32_MAX) csize = z[i++] ?? csize;
      if (offset === U32_MAX) offset = z[i++] ?? offset;
      centralCount++;
      nameChars += name.length;
      if (nameChars > 64 * 1024 * 1024) return stop('scan-limit', at, 'central directory names too long');
      if (centralNames.has(name)) findings.add('archive-duplicate-entry', { offset: at, entry: name }, 'two central-directory entries with one name');
      centralNames.add(name);
      const local = walked.get(offset);
      // INVARIANT: what loaders read (the central directory) is exactly what was scanned
      if (local === undefined || local.name !== name || local.method !== method || local.compressedSize !== csize) {
        findings.add('archive-inconsistent', { offset: at, entry: name }, local === undefined ? 'central directory points where no entry was walked' : 'central directory disagrees with the local entry');
      }
      continue;
    }
    if (sig === SIG_ZIP64_EOCD) {
      const sizeBytes = yield* take(8);
      if (sizeBytes === null) return stop('archive-unreadable', at, 'truncated zip64 end record');
      const size = Number(Buffer.from(sizeBytes).readBigUInt64LE(0));
      if ((yield* skip(size)) < size) return stop('archive-unreadable', at, 'truncated zip64 end record');
      continue;
    }
    if (sig === SIG_ZIP64_LOCATOR) {
      if ((yield* skip(16)) < 16) return stop('archive-unreadable', at, 'truncated zip64 locator');
      continue;
    }
    if (sig === SIG_EOCD) {
      const h = yield* take(18);
      if (h === null) return stop('archive-unreadable', at, 'truncated end record');
      const total = u16(h, 6);
      const commentLen = u16(h, 16);
      if ((yield* skip(commentLen)) < commentLen) return stop('archive-unreadable', at, 'truncated archive comment');
      if (total !== 0xffff && total !== centralCount % 0x10000) findings.add('archive-inconsistent', { offset: at }, 'entry count of the end record differs from the central directory');
      if (centralCount < walked.size) findings.add('archive-inconsistent', { offset: at }, 'local entries missing from the central directory');
      const after = yield* take(1);
      if (after !== null) findings.add('archive-malformed', { offset: driver.offset - 1 }, 'bytes after the end of the archive');
      return;
    }
    stop('archive-unreadable', at, 'unexpected record in the archive');
    return;
  }
}

/** Passes up to `n` bytes to `push` in whatever pieces arrive; returns how many came. */
function* pipeSome(n: number, push: (c: Uint8Array) => void): Generator<Need, number, unknown> {
  let done = 0;
  while (done < n) {
    const piece = yield* some(Math.min(n - done, 1 << 20));
    if (piece === null) break;
    push(piece);
    done += piece.length;
  }
  return done;
}

/**
 * Reads entry bytes until a data descriptor whose compressed size equals the bytes read
 * so far; passes the entry bytes (never the descriptor) to `push`. Returns the entry size,
 * or null at end of input. Holds back at most one descriptor's length.
 */
function* huntDescriptor(driver: PullDriver, zip64: boolean, push: (c: Uint8Array) => void): Generator<Need, number | null, unknown> {
  const tail = 4 + descriptorSize(zip64);
  let held: Uint8Array = new Uint8Array(0);
  let delivered = 0;
  for (;;) {
    const piece = yield* some(1 << 20);
    if (piece === null) return null;
    const buf = held.length === 0 ? piece : Buffer.concat([held, piece]);
    let from = 0;
    for (;;) {
      const p = buf.indexOf(0x50, from);
      if (p < 0 || p + tail > buf.length) break;
      if (u32(buf, p) === SIG_DESCRIPTOR) {
        const size = zip64 ? Number(Buffer.from(buf.buffer, buf.byteOffset + p + 8, 8).readBigUInt64LE(0)) : u32(buf, p + 8);
        if (size === delivered + p) {
          if (p > 0) push(buf.subarray(0, p));
          // the bytes after the descriptor belong to the next record: hand them back
          const rest = buf.subarray(p + tail);
          driver.unread(rest.length);
          return delivered + p;
        }
      }
      from = p + 1;
    }
    const keep = Math.min(buf.length, tail - 1);
    const out = buf.subarray(0, buf.length - keep);
    if (out.length > 0) push(out);
    delivered += out.length;
    held = buf.slice(buf.length - keep);
  }
}


/** Feeds an entry's compressed bytes to its scanner: as is (stored) or through Inflate; bounded. */
function entryFeeder(o: ZipWalkOptions, name: string, at: number, method: number, sink: StreamScanner | null): { push: (c: Uint8Array) => void; finish: () => void } {
  if (sink === null) return { push: () => {}, finish: () => {} };
  let entryBytes = 0;
  let stopped = false;
  const deliver = (chunk: Uint8Array) => {
    if (stopped || sink.done || chunk.length === 0) return;
    entryBytes += chunk.length;
    o.inflated.total += chunk.length;
    if (entryBytes > o.limits.maxEntryBytes || o.inflated.total > o.limits.maxTotalInflatedBytes) {
      stopped = true;
      o.findings.add('scan-limit', { offset: at, entry: name }, 'uncompressed size beyond the scan limit');
      o.incomplete(`entry \`${name}\` is larger than the scan limit`, at);
      return;
    }
    sink.write(chunk);
  };
  if (method === 0) return { push: deliver, finish: () => sink.end() };
  const inflate = new Inflate((data) => deliver(data));
  return {
    push: (c) => {
      if (stopped || sink.done) return;
      try {
        inflate.push(c, false);
      } catch {
        stopped = true;
        o.findings.add('archive-malformed', { offset: at, entry: name }, 'invalid deflate data');
      }
    },
    finish: () => {
      if (!stopped && !sink.done) {
        try {
          inflate.push(new Uint8Array(0), true);
        } catch {
          o.findings.add('archive-malformed', { offset: at, entry: name }, 'invalid deflate data');
        }
      }
      sink.end();
    },
  };
}

/** An entry name: UTF-8 when flag bit 11 says so, else CP437 (read as latin1, as Python's zipfile falls back to). */
function entryName(bytes: Uint8Array, flags: number): string {
  return Buffer.from(bytes).toString((flags & 0x800) !== 0 ? 'utf8' : 'latin1');
}

/** Flags entry names that would write outside the extraction folder. */
function checkEntryName(findings: ScopedFindings, name: string, at: number): void {
  const parts = name.replace(/\\/g, '/').split('/');
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name) || parts.includes('..') || name.includes('\0')) {
    findings.add('archive-path-traversal', { offset: at, entry: name }, 'entry name leaves the extraction folder');
  }
}

/** The zip64 extended-information extra field (id 1) as up to four 64-bit numbers, or null. */
function zip64Extra(extra: Uint8Array): number[] | null {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = u16(extra, p);
    const len = u16(extra, p + 2);
    if (id === 1) {
      const out: number[] = [];
      for (let q = p + 4; q + 8 <= p + 4 + len && q + 8 <= extra.length; q += 8) out.push(Number(Buffer.from(extra.buffer, extra.byteOffset + q, 8).readBigUInt64LE(0)));
      return out;
    }
    p += 4 + len;
  }
  return null;
}

function u16(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8);
}

function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
}
