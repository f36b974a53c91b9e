import { NotReadyError } from '../domain/errors.js';
import type { BlobStore } from '../store/blob-store.js';
import type { MetadataStore } from '../store/metadata-store.js';

/** The setting the audit write probe rewrites (its value: the time of the probe). */
export const READINESS_PROBE_KEY = 'readiness-probe';
/** A blob key that is never written: stat-ing it shows the blob store answers. */
const BLOB_PROBE_KEY = 'readiness/probe';
/** How long one verdict is reused: `/v1/ready` is unauthenticated, so its cost must not scale with callers. */
const VERDICT_TTL_MS = 1000;
/** Longest a probe may take: a store that hangs is as unready as one that fails. */
const PROBE_TIMEOUT_MS = 3000;

/** What readiness checks, and how. */
export interface ReadinessDeps {
  store: Pick<MetadataStore, 'ping' | 'putSetting'>;
  blobStore: Pick<BlobStore, 'stat'>;
  /** The blob store adapter's own check (an S3 bucket answers HeadBucket), run with the stat probe. */
  blobsReady?: () => Promise<void>;
  clock: () => number;
  /** Told which probe failed (operators' log); the HTTP answer stays a bare 503. */
  warn: (message: string, detail: Record<string, unknown>) => void;
  /** Longest a probe may take (default 3 s). */
  probeTimeoutMs?: number;
}

/**
 * Whether this node can serve: it can only if it can write audit records (no record, no
 * act: every request would be refused with COFFER_AUDIT_UNAVAILABLE), read its database
 * and reach its blob store. `/v1/ready` answers from {@link check}.
 *
 * The audit probe is a durable write on the audit records' own path: one row of the
 * same database rewritten in a committed, synced transaction, so a full disk, a
 * read-only or lost database fails it exactly as it fails an audit append. It writes no
 * audit record (an unauthenticated endpoint must not be able to grow the log). Verdicts
 * are shared by concurrent callers and reused for a second, so a flood of probes costs
 * at most one write a second; a node taken out of rotation comes back by itself once
 * the probe succeeds again.
 */
export class Readiness {
  readonly #deps: ReadinessDeps;
  #verdict: { at: number; failing: string[] } | null = null;
  #inFlight: Promise<string[]> | null = null;
  #writes = 0;

  constructor(deps: ReadinessDeps) {
    this.#deps = deps;
  }

  /** Resolves when ready; rejects with NotReadyError naming the failing probes. */
  async check(): Promise<void> {
    const failing = await this.#failing();
    if (failing.length > 0) throw new NotReadyError(undefined, { detail: `failing: ${failing.join(', ')}` });
  }

  /** Audit probe writes so far (metrics, tests). */
  probeWrites(): number {
    return this.#writes;
  }

  async #failing(): Promise<string[]> {
    const now = this.#deps.clock();
    if (this.#verdict !== null && now - this.#verdict.at < VERDICT_TTL_MS && now >= this.#verdict.at) return this.#verdict.failing;
    this.#inFlight ??= this.#probe().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  async #probe(): Promise<string[]> {
    const d = this.#deps;
    const probes: Array<[string, () => Promise<unknown>]> = [
      ['database', () => d.store.ping()],
      [
        'audit',
        () => {
          this.#writes++;
          return d.store.putSetting(READINESS_PROBE_KEY, Buffer.from(String(d.clock())));
        },
      ],
      ['blobs', async () => {
        await d.blobsReady?.();
        return d.blobStore.stat(BLOB_PROBE_KEY);
      }],
    ];
    const results = await Promise.all(probes.map(async ([name, run]) => ((await withTimeout(run(), d.probeTimeoutMs ?? PROBE_TIMEOUT_MS)) ? null : name)));
    const failing = results.filter((r): r is string => r !== null);
    const previous = this.#verdict?.failing.join(',') ?? '';
    if (failing.join(',') !== previous) d.warn(failing.length === 0 ? 'node is ready' : 'node is not ready', { failing });
    this.#verdict = { at: d.clock(), failing };
    return failing;
  }
}

/** True if `p` settles successfully within `ms`. */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
