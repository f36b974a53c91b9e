/**
 * The gate's entry point: one push-fed scan of one artifact that yields the three
 * verdicts (unsafe code, secrets, personal data). Feed it the plaintext chunk by chunk as
 * it streams past (an upload tee, while the vault seals it) and call `end()`; nothing is
 * read twice and memory stays bounded by GateLimits whatever the size.
 *
 * The format is recognized from the first bytes, then the name and media type
 * (detect-format.ts); archives (zip) and compressed streams (zlib, gzip) are opened and
 * each entry is scanned as an artifact of its own, its findings located in the entry.
 */
import { Gunzip, Unzlib } from 'fflate';
import type { Readable } from 'node:stream';
import { walkZip } from './archive/zip-walker.js';
import { DriverScanner } from './core/driver-scanner.js';
import { FindingCollector, ScopedFindings } from './core/findings.js';
import { resolveLimits, type GateLimits } from './core/limits.js';
import type { PullDriver } from './core/pull-driver.js';
import { NULL_SCANNER, SniffingScanner, TeeScanner, type StreamScanner } from './core/stream-scanner.js';
import type { Verdict } from './core/verdict.js';
import { detectFormat, detectTextKind, type ArtifactFormat, type FormatHints } from './detect-format.js';
import { H5KerasScanner, KerasConfigScanner } from './model/keras-scanners.js';
import { scanNpy } from './model/npy-scanner.js';
import { scanOnnx } from './model/onnx-scanner.js';
import { scanSafetensors } from './model/safetensors-scanner.js';
import { pickleBudget, scanPickleStream, type PickleScanContext } from './pickle/pickle-scanner.js';
import { DEFAULT_PII_OPTIONS, type PiiOptions } from './pii/detectors.js';
import { piiScanner } from './pii/pii-scanner.js';
import { BinarySecretScanner, textSecretScanner } from './secrets/secret-scanner.js';

/** What the caller knows of the artifact (all optional, all untrusted). */
export interface ArtifactScanOptions extends FormatHints {
  limits?: Partial<GateLimits>;
  pii?: PiiOptions;
}

/** The three verdicts of one artifact. */
export interface GateReport {
  /** Format of the artifact itself (entries of an archive have their own, in the verdicts' `formats`). */
  format: ArtifactFormat;
  /** Bytes scanned. */
  bytes: number;
  unsafeCode: Verdict;
  secrets: Verdict;
  pii: Verdict;
}

/** Bytes held to recognize a format (HDF5 may start after a 512-byte user block). */
const SNIFF_BYTES = 4096;
/** Archive entries that are raw tensor storage (PyTorch `archive/data/0`): nothing to judge. */
const TENSOR_STORAGE = /(^|\/)data\/\d+$/;

interface ScanEnv {
  limits: GateLimits;
  pii: PiiOptions;
  unsafe: FindingCollector;
  secrets: FindingCollector;
  personal: FindingCollector;
  inflated: { total: number };
  budget: PickleScanContext['budget'];
}

interface Scopes {
  u: ScopedFindings;
  s: ScopedFindings;
  p: ScopedFindings;
}

/** A push-fed scan of one artifact. */
export class ArtifactScan {
  private readonly env: ScanEnv;
  private readonly root: StreamScanner;
  private format: ArtifactFormat = 'binary';
  private bytes = 0;
  private report: GateReport | null = null;

  constructor(options: ArtifactScanOptions = {}) {
    const limits = resolveLimits(options.limits);
    this.env = {
      limits,
      pii: options.pii ?? DEFAULT_PII_OPTIONS,
      unsafe: new FindingCollector('unsafe-code', limits.maxLocations),
      secrets: new FindingCollector('secrets', limits.maxLocations),
      personal: new FindingCollector('pii', limits.maxLocations),
      inflated: { total: 0 },
      budget: pickleBudget(limits),
    };
    const hints: FormatHints = {};
    if (options.name !== undefined) hints.name = options.name;
    if (options.mediaType !== undefined) hints.mediaType = options.mediaType;
    this.root = openContent(this.env, undefined, hints, 0, (f) => (this.format = f));
  }

  /** Feeds the next chunk of the artifact. Never throws; ignored after `end()`. */
  write(chunk: Uint8Array): void {
    if (this.report !== null) return;
    this.bytes += chunk.length;
    guarded(this.env, () => this.root.write(chunk));
  }

  /** Ends the artifact and returns its report (the same report on every call). */
  end(): GateReport {
    if (this.report !== null) return this.report;
    guarded(this.env, () => this.root.end());
    for (const c of [this.env.unsafe, this.env.secrets, this.env.personal]) c.bytes = this.bytes;
    this.report = { format: this.format, bytes: this.bytes, unsafeCode: this.env.unsafe.verdict(), secrets: this.env.secrets.verdict(), pii: this.env.personal.verdict() };
    return this.report;
  }
}

/** Scans a whole stream (a Readable or any async iterable of chunks). */
export async function scanArtifact(source: Readable | AsyncIterable<Uint8Array>, options: ArtifactScanOptions = {}): Promise<GateReport> {
  const scan = new ArtifactScan(options);
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) scan.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return scan.end();
}

/** Scans bytes already in memory. */
export function scanBytes(bytes: Uint8Array, options: ArtifactScanOptions = {}): GateReport {
  const scan = new ArtifactScan(options);
  scan.write(bytes);
  return scan.end();
}

function guarded(env: ScanEnv, work: () => void): void {
  try {
    work();
  } catch (err) {
    // INVARIANT: no input ends the process and no failure reads as clean
    const detail = err instanceof Error ? err.message.slice(0, 200) : 'scanner failed';
    for (const c of [env.unsafe, env.secrets, env.personal]) c.add('scanner-error', {}, detail);
  }
}

function scopes(env: ScanEnv, entry: string | undefined): Scopes {
  return { u: new ScopedFindings(env.unsafe, entry), s: new ScopedFindings(env.secrets, entry), p: new ScopedFindings(env.personal, entry) };
}

/** A scanner for a stream whose format is not known yet: sniffs, then dispatches. */
function openContent(env: ScanEnv, entry: string | undefined, hints: FormatHints, depth: number, onFormat?: (f: ArtifactFormat) => void): StreamScanner {
  return new SniffingScanner(SNIFF_BYTES, (head) => {
    const format = detectFormat(head, hints);
    onFormat?.(format);
    return chooseScanner(env, scopes(env, entry), entry, hints, depth, format, head);
  });
}

function chooseScanner(env: ScanEnv, sc: Scopes, entry: string | undefined, hints: FormatHints, depth: number, format: ArtifactFormat, head: Uint8Array): StreamScanner {
  const { limits } = env;
  const pickleCtx = (findings: ScopedFindings) => (driver: PullDriver): PickleScanContext => ({ findings, driver, limits, budget: env.budget });
  const binarySecrets = () => new BinarySecretScanner(sc.s, limits);
  switch (format) {
    case 'pickle':
      sc.u.collector.format('pickle');
      return new TeeScanner([new DriverScanner(sc.u, (d) => scanPickleStream(pickleCtx(sc.u)(d))), binarySecrets()]);
    case 'numpy':
      sc.u.collector.format('numpy');
      return new TeeScanner([new DriverScanner(sc.u, (d) => scanNpy(pickleCtx(sc.u)(d), sc.u, d)), binarySecrets()]);
    case 'safetensors':
      sc.u.collector.format('safetensors');
      return new DriverScanner(sc.u, (d) =>
        scanSafetensors(sc.u, d, limits, (header) => {
          const text = textSecretScanner(sc.s, limits);
          text.write(header);
          text.end();
        }),
      );
    case 'onnx':
      sc.u.collector.format('onnx');
      return new TeeScanner([new DriverScanner(sc.u, (d) => scanOnnx(sc.u, d, limits)), binarySecrets()]);
    case 'hdf5':
      return new TeeScanner([new H5KerasScanner(sc.u, limits), binarySecrets()]);
    case 'zip':
      return zipScanner(env, sc, entry, depth);
    case 'zlib':
    case 'gzip':
      return decompressing(env, sc, entry, hints, depth, format);
    case 'unsupported-compression':
      for (const f of [sc.u, sc.s, sc.p]) f.add('unsupported-encoding', { offset: 0 }, 'compression this gate cannot read (bz2, xz, lzma, lz4 or zstd)');
      return NULL_SCANNER;
    case 'text': {
      const kind = detectTextKind(head, hints);
      const targets = [textSecretScanner(sc.s, limits), piiScanner(sc.p, limits, kind, env.pii)];
      if (baseName(hints.name) === 'config.json') targets.push(new KerasConfigScanner(sc.u, limits));
      return new TeeScanner(targets);
    }
    case 'binary':
      return binarySecrets();
  }
}

function baseName(name: string | undefined): string {
  return (name ?? '').split(/[\\/]/).pop() ?? '';
}

function zipScanner(env: ScanEnv, sc: Scopes, entry: string | undefined, depth: number): StreamScanner {
  sc.u.collector.format('zip');
  return new DriverScanner(sc.u, (driver) =>
    walkZip({
      findings: sc.u,
      driver,
      limits: env.limits,
      inflated: env.inflated,
      incomplete: (why, offset) => {
        for (const f of [sc.s, sc.p]) f.add('archive-unreadable', { offset }, why);
      },
      openEntry: (info) => {
        if (info.name.endsWith('/') || TENSOR_STORAGE.test(info.name)) return null;
        if (/(^|\/)data\.pkl$/.test(info.name)) sc.u.collector.format('torch-zip');
        const inner = entry === undefined ? info.name : `${entry}!${info.name}`;
        if (depth + 1 > env.limits.maxNesting) {
          sc.u.add('scan-limit', { offset: info.offset, entry: inner }, 'archives nested too deep');
          return null;
        }
        return openContent(env, inner, { name: info.name }, depth + 1);
      },
    }),
  );
}

/** Inflates a zlib or gzip stream (joblib compression, .gz files) into a scan of its content. */
function decompressing(env: ScanEnv, sc: Scopes, entry: string | undefined, hints: FormatHints, depth: number, format: 'zlib' | 'gzip'): StreamScanner {
  sc.u.collector.format(format);
  if (depth + 1 > env.limits.maxNesting) {
    sc.u.add('scan-limit', { offset: 0 }, 'compressed streams nested too deep');
    return NULL_SCANNER;
  }
  const innerHints: FormatHints = hints.name === undefined ? {} : { name: hints.name.replace(/\.(gz|z|zlib)$/i, '') };
  const inner = openContent(env, entry, innerHints, depth + 1);
  let out = 0;
  let stopped = false;
  const deliver = (data: Uint8Array) => {
    if (stopped || inner.done) return;
    out += data.length;
    env.inflated.total += data.length;
    if (out > env.limits.maxEntryBytes || env.inflated.total > env.limits.maxTotalInflatedBytes) {
      stopped = true;
      for (const f of [sc.u, sc.s, sc.p]) f.add('scan-limit', { offset: 0 }, 'uncompressed size beyond the scan limit');
      return;
    }
    inner.write(data);
  };
  const stream = format === 'gzip' ? new Gunzip((d) => deliver(d)) : new Unzlib((d) => deliver(d));
  const fail = () => {
    if (stopped) return;
    stopped = true;
    sc.u.add('archive-unreadable', { offset: 0 }, `invalid ${format} data`);
  };
  return {
    get done() {
      return stopped || inner.done;
    },
    write(chunk: Uint8Array) {
      if (stopped || inner.done) return;
      try {
        stream.push(chunk, false);
      } catch {
        fail();
      }
    },
    end() {
      if (!stopped && !inner.done) {
        try {
          stream.push(new Uint8Array(0), true);
        } catch {
          fail();
        }
      }
      inner.end();
    },
  };
}
