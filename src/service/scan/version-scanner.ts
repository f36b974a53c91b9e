import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isCofferError } from '../../domain/errors.js';
import type { ArtifactVersion, VersionScan } from '../../domain/types.js';
import { ArtifactScan, gateAttributes, type GateReport, type ScannerKind, type Verdict } from '../../gate/index.js';
import type { ServiceDeps } from '../deps.js';
import { names } from '../resources.js';

/** How the scanner runs (config `gateScan*`). */
export interface VersionScannerOptions {
  /** Versions scanned at once on this node (each is one CPU-bound stream). */
  concurrency: number;
  /** How long a claim on a version lasts; a node that dies lets it lapse and another scans. */
  leaseMs: number;
  /** How often the queue is polled when nothing nudged it (other nodes' uploads, lapsed claims). */
  pollMs: number;
}

export const DEFAULT_SCANNER_OPTIONS: VersionScannerOptions = { concurrency: 1, leaseMs: 10 * 60_000, pollMs: 2_000 };

/**
 * The artifact gate on every way in (issue 17): every new version, whatever wrote it
 * (REST push, S3 PutObject, CopyObject, multipart), is committed with no verdict and
 * scanned here, after the upload, from its sealed bytes. Why after and not in the
 * upload's own pass: the text scanners run at 1-3% of SHA-256's speed (docs/gate.md),
 * so inline they would cap every upload at tens of MiB/s; model formats, the bulk of the
 * bytes, cost less than the hash. Until its verdict is written a version is `pending`,
 * which the baseline policy treats as failing (no promotion to prod): fail closed.
 *
 * Queue = the versions table itself (`scan_state is null`), so nothing is lost at a crash:
 * a restart, or another node once the lease lapses, scans what was left. Each verdict is
 * audited (`gate-scan`, actor none, counts only) before it is recorded.
 */
export class VersionScanner {
  readonly #deps: ServiceDeps;
  readonly #options: VersionScannerOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(deps: ServiceDeps, options: Partial<VersionScannerOptions> = {}) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_SCANNER_OPTIONS, ...options };
  }

  /** Starts polling; the first pass picks up what a previous run left pending. */
  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#timer = setInterval(() => this.nudge(), this.#options.pollMs);
    // the scanner never keeps the process alive
    this.#timer.unref();
    this.nudge();
  }

  /** Asks for a pass soon (a version was just committed). Never throws. */
  nudge(): void {
    if (this.#stopped) return;
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain()
      .catch((err: unknown) => this.#deps.warn('gate scan pass failed', { code: isCofferError(err) ? err.code : 'error' }))
      .finally(() => {
        this.#running = null;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.nudge();
        }
      });
  }

  /** Runs passes until no version waits (tests and `coffer` admin use); resolves when idle. */
  async drain(): Promise<void> {
    do {
      this.#again = false;
      if (this.#running !== null) await this.#running;
      else await this.#drain();
    } while (this.#again);
  }

  /**
   * Makes sure a version has its verdict (promotion asks before deciding): scans it now if
   * nobody is, else waits for the node that is, at most `timeoutMs`. Resolves either way;
   * a version still pending is then refused by policy (fail closed).
   */
  async settle(versionId: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      const claimed = await this.#deps.store.claimVersionToScan(versionId, this.#deps.clock(), this.#options.leaseMs);
      if (claimed !== null) {
        // a scan that cannot read the version leaves it pending (policy refuses it) and retried later
        await this.#scanOne(claimed).catch((err: unknown) => this.#deps.warn('gate scan failed', { versionId: versionId, code: isCofferError(err) ? err.code : 'error' }));
        return;
      }
      const current = await this.#deps.store.getVersion(versionId);
      if (current === null || (current.scan ?? null) !== null || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** Stops polling and waits for the scans in progress; their claims lapse if cut. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const claimed = await this.#deps.store.claimVersionsToScan(this.#deps.clock(), this.#options.leaseMs, this.#options.concurrency);
      if (claimed.length === 0) return;
      // a version that cannot be read now (storage down, a damaged blob) stays pending: its
      // lease lapses and a later pass retries it; policy refuses it meanwhile
      await Promise.all(claimed.map((v) => this.#scanOne(v).catch((err: unknown) => this.#deps.warn('gate scan failed', { versionId: v.id, code: isCofferError(err) ? err.code : 'error' }))));
    }
  }

  async #scanOne(version: ArtifactVersion): Promise<void> {
    const artifact = await this.#deps.store.getArtifact(version.artifactId);
    if (artifact === null) return;
    const project = await this.#deps.store.getProject(artifact.projectId);
    const resource = names.version(project?.name ?? artifact.projectId, artifact.name, String(version.number));
    let report: GateReport;
    if (version.wrappedKey === null) {
      // crypto-shredded before its scan: nothing left to judge, and nothing left to serve
      report = shreddedReport(version);
    } else {
      const scan = new ArtifactScan({ name: artifact.name, mediaType: version.mediaType });
      const source = await this.#deps.vault.open({ objectId: version.id, blobKey: version.blobKey, size: version.size, wrappedKey: version.wrappedKey, keyTerm: version.keyTerm });
      await pipeline(
        source,
        new Writable({
          write(chunk: Buffer, _enc, done) {
            scan.write(chunk);
            done();
          },
        }),
      );
      report = scan.end();
    }
    const attrs = gateAttributes(report);
    const verdict: VersionScan = {
      state: attrs.unscannable ? 'unscannable' : attrs.unsafeCode || attrs.secrets || attrs.pii ? 'flagged' : 'clean',
      unsafeCode: attrs.unsafeCode,
      secrets: attrs.secrets,
      pii: attrs.pii,
      scannedAt: this.#deps.clock(),
      exceptionRequestId: null,
    };
    // INVARIANT: the verdict is on the audit chain before it is stored (and so before policy acts on it)
    await this.#deps.audit.record({
      time: verdict.scannedAt,
      requestId: `scan-${version.id}`,
      actor: null,
      action: 'gate-scan',
      resource,
      decision: 'allow',
      policies: [],
      outcome: 'success',
      context: { versionId: version.id, sha256: version.sha256, state: verdict.state, format: report.format, counts: countsOf(report) },
    });
    await this.#deps.store.recordVersionScan(version.id, verdict, JSON.stringify(report));
  }
}

/** Finding counts by scanner and type (what the audit record keeps; never values or locations). */
export function countsOf(report: GateReport): Record<string, Record<string, number>> {
  return { unsafeCode: report.unsafeCode.counts, secrets: report.secrets.counts, pii: report.pii.counts };
}

function shreddedReport(version: ArtifactVersion): GateReport {
  const verdict = (scanner: ScannerKind): Verdict => ({ scanner, outcome: 'unscannable', counts: { 'scanner-error': 1 }, findings: [], truncated: false, formats: [], bytes: 0 });
  return { format: 'binary', bytes: version.size, unsafeCode: verdict('unsafe-code'), secrets: verdict('secrets'), pii: verdict('pii') };
}
