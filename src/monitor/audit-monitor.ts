import { InternalError, isCofferError } from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { MetadataStore, StoredAuditRecord } from '../store/metadata-store.js';
import type { MonitorStore } from '../store/monitor-store.js';
import type { Finding } from './finding.js';
import type { MonitorEngine } from './monitor-engine.js';
import type { ArtifactInfoResolver } from './artifact-info-resolver.js';
import { artifactKey, parseAuditRecord, withCatalog } from './monitor-event.js';
import type { MonitorMetrics } from './monitor-metrics.js';
import { UsageLedger } from './usage-ledger.js';

/** What the audit monitor needs. */
export interface AuditMonitorDeps {
  /** The audit log's store: records missed (before a restart, or written by another node) are read from it. */
  store: Pick<MetadataStore, 'iterateAudit'>;
  monitorStore: Pick<MonitorStore, 'loadMonitorState' | 'saveMonitorState'>;
  engine: MonitorEngine;
  /** Tier and kind of the artifacts records name (the records do not carry them). */
  catalog: Pick<ArtifactInfoResolver, 'infoOf'>;
  onFinding: (f: Finding) => Promise<void>;
  onError: (err: CofferError) => void;
  metrics: MonitorMetrics;
  /** Wall clock, for the lag metric only (detectors use record times). */
  clock: () => number;
  /** Save state at least this often (default 5000 ms) ... */
  persistEveryMs?: number;
  /** ... and after this many records (default 2000). */
  persistEveryRecords?: number;
}

/**
 * The detectors, fed in process as audit records are written: an AuditSink of the
 * HashChainAuditLog, so it sees every record after it is durably stored, in seq order.
 *
 * Restart: detector state, usage and the seq they account for are saved together
 * (periodically and at close); at start the state is loaded and the records after
 * that seq are replayed from the audit log, so a restart loses nothing and counts
 * nothing twice. The same gap filling reads the records other nodes wrote when this
 * node's next record arrives. Findings of replayed records get the ids they had, so an
 * alert raised before a crash is not raised again.
 *
 * INVARIANT: records are processed strictly in seq order, one at a time.
 */
export class AuditMonitor implements AuditSink {
  readonly #d: AuditMonitorDeps;
  readonly #ledger = new UsageLedger();
  #chain: Promise<void>;
  #release: () => void = () => undefined;
  #timer: NodeJS.Timeout | null = null;
  #sinceSave = 0;
  #closed = false;

  constructor(deps: AuditMonitorDeps) {
    this.#d = deps;
    // INVARIANT: nothing is analysed before the saved state is loaded: writes queue until start() has loaded it
    this.#chain = new Promise<void>((resolve) => (this.#release = resolve));
  }

  /** Loads the saved state and replays the records written since; writes made meanwhile queue behind. */
  start(): Promise<void> {
    const loaded = (async () => {
      const saved = await this.#d.monitorStore.loadMonitorState();
      this.#d.engine.restore(saved.seq, saved.states);
      await this.#catchUp(Number.MAX_SAFE_INTEGER);
      await this.#save();
    })();
    // the queue opens once the state is loaded, whether or not loading worked
    void loaded.catch((err: unknown) => this.#report(err, 'monitor could not load its state')).then(() => this.#release());
    const every = this.#d.persistEveryMs ?? 5000;
    this.#timer = setInterval(() => void this.persist(), every);
    this.#timer.unref();
    return loaded;
  }

  /** Called by the audit log with each committed batch (never throws: failures go to onError). */
  write(records: readonly StoredAuditRecord[]): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const next = this.#chain.then(() => this.#consume(records));
    this.#chain = next.catch((err: unknown) => this.#report(err, 'monitor could not analyse audit records'));
    return this.#chain;
  }

  /**
   * Reads and analyses the records stored since the last analysed one, whoever wrote
   * them: the node running the detectors follows the other nodes' writes this way.
   */
  follow(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#chain = this.#chain.then(() => this.#catchUp(Number.MAX_SAFE_INTEGER)).catch((err: unknown) => this.#report(err, 'monitor could not read audit records'));
    return this.#chain;
  }

  /** Resolves once every record handed over so far is analysed. */
  async idle(): Promise<void> {
    for (;;) {
      const c = this.#chain;
      await c;
      if (c === this.#chain) return;
    }
  }

  /** Saves the detector state and usage now (queued behind the records in progress). */
  persist(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#save()).catch((err: unknown) => this.#report(err, 'monitor state could not be saved'));
    return this.#chain;
  }

  /** Clears the short windows and cooldowns of a principal (after an unlock), in order with the records. */
  clearWindows(principalKey: string): Promise<void> {
    this.#chain = this.#chain.then(() => this.#d.engine.clearWindows(principalKey));
    return this.#chain;
  }

  /** Stops the timer, finishes the queue and saves. Records written afterwards are picked up at the next start. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.persist();
    this.#closed = true;
  }

  async #consume(records: readonly StoredAuditRecord[]): Promise<void> {
    for (const r of records) {
      const last = this.#d.engine.lastSeq;
      if (r.seq <= last) continue;
      // a gap: records this node did not write (another node), or written while it was catching up
      if (r.seq > last + 1) await this.#catchUp(r.seq - 1);
      await this.#analyse(r);
    }
    if (this.#sinceSave >= (this.#d.persistEveryRecords ?? 2000)) await this.#save();
  }

  /** Replays stored records after the last analysed one, up to `upTo`. */
  async #catchUp(upTo: number): Promise<void> {
    for await (const r of this.#d.store.iterateAudit(this.#d.engine.lastSeq + 1)) {
      if (r.seq > upTo) break;
      await this.#analyse(r);
      if (this.#sinceSave >= (this.#d.persistEveryRecords ?? 2000)) await this.#save();
    }
  }

  async #analyse(r: StoredAuditRecord): Promise<void> {
    const d = this.#d;
    this.#sinceSave++;
    d.metrics.records.inc();
    d.metrics.lastSeq.set(r.seq);
    const parsed = parseAuditRecord(r.seq, r.body);
    if (parsed === null) {
      d.engine.skip(r.seq);
      return;
    }
    const art = parsed.target === null ? null : artifactKey(parsed.target);
    // tier and kind matter for allowed requests only (denials carry no data)
    const info = art !== null && parsed.decision === 'allow' ? await d.catalog.infoOf(parsed.target!.project, parsed.target!.artifact!) : null;
    const event = withCatalog(parsed, info);
    // the detectors run on the event loop that serves requests: their cost per record is a metric
    const started = performance.now();
    const findings = d.engine.process(event);
    d.metrics.detectorSeconds.observe((performance.now() - started) / 1000);
    this.#ledger.add(event);
    d.metrics.lag.set(Math.max(0, (d.clock() - event.time) / 1000));
    for (const f of findings) {
      try {
        await d.onFinding(f);
      } catch (err) {
        this.#report(err, 'monitor could not raise an alert');
      }
    }
  }

  async #save(): Promise<void> {
    const d = this.#d;
    const started = performance.now();
    const changes = d.engine.changes();
    const usage = this.#ledger.drain();
    try {
      await d.monitorStore.saveMonitorState({ seq: changes.seq, states: changes.states, ...usage });
    } catch (err) {
      this.#ledger.restore(usage);
      throw err;
    }
    d.engine.commit(changes);
    this.#sinceSave = 0;
    let bytes = 0;
    for (const [, json] of changes.states) bytes += json?.length ?? 0;
    d.metrics.persistedStates.inc(changes.states.length);
    d.metrics.persistedBytes.inc(bytes);
    d.metrics.persistSeconds.observe((performance.now() - started) / 1000);
  }

  #report(err: unknown, message: string): void {
    try {
      this.#d.onError(isCofferError(err) ? err : new InternalError(message, { cause: err }));
    } catch {
      // a failing reporter must not stop the monitor
    }
  }
}
