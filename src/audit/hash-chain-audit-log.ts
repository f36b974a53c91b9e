import { AlreadyExistsError, AuditChainBrokenError, AuditUnavailableError, CofferError, InternalError } from '../domain/errors.js';
import type { MetadataStore, StoredAuditCheckpoint, StoredAuditRecord } from '../store/metadata-store.js';
import type { AuditEvent, AuditLog, ExportedCheckpoint, VerifyOptions, VerifyResult } from './audit-event.js';
import { exportAuditPublicKey, type AuditKeys } from './audit-keys.js';
import { GENESIS_HASH, auditBodyOf, hashAuditRecord, isHash, serializeAuditBody, type AuditBodyV1 } from './audit-record.js';
import type { AuditSink } from './audit-sink.js';
import { ChainVerifier } from './chain-verifier.js';
import { checkpointSignatureValid, signCheckpoint } from './checkpoint.js';
import { checkpointLine, exportLine } from './export-line.js';
import type { CheckpointWitness, WitnessReading, WitnessedCheckpoint } from './checkpoint-witness.js';
import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';

/** The part of the MetadataStore the audit log uses. */
export type AuditStore = Pick<MetadataStore, 'appendAudit' | 'iterateAudit' | 'lastAudit' | 'putAuditCheckpoint' | 'listAuditCheckpoints'>;

/** Options of {@link HashChainAuditLog}. */
export interface AuditLogOptions {
  /** Sign a checkpoint once at least this many records follow the last one (default 1000; 0 = only on demand). */
  checkpointEvery?: number;
  /** At most this many records in one append transaction (default 500). */
  maxBatch?: number;
  /** Secondary sinks, fed every record after it is durably stored. */
  sinks?: AuditSink[];
  /**
   * Told about failures that do not fail a `record` (a checkpoint or sink write, a
   * broken chain found while checkpointing), for the log and alerts. Default: a
   * process warning.
   */
  onError?: (err: CofferError) => void;
  /** Clock for checkpoint times (epoch ms). */
  now?: () => number;
  /**
   * Also sign a checkpoint this often (ms) when records were added since the last one
   * (0 or absent = by count only), so the records no witness vouches for are at most
   * this old. The timer never holds the process; close() stops it.
   */
  checkpointIntervalMs?: number;
  /**
   * Asked before each timed checkpoint; false skips it. The seam for running the job on
   * one node at a time (a lease); default: always.
   */
  mayCheckpoint?: () => Promise<boolean>;
  /** Where each checkpoint is appended as it is stored, outside the database (file, webhook, syslog). */
  witnesses?: CheckpointWitness[];
  /** The witness `verify` checks the chain against and reports coverage from (the witness file). */
  witnessReader?: { read(publicKey: KeyObject): Promise<WitnessReading> };
  /** The name witnesses record as the signing node (default: the host name). */
  node?: string;
  /**
   * Whether this node signs the periodic checkpoints (default: always). With several
   * nodes, only the holder of the `audit-checkpoints` lease does, at its batch ends and
   * through {@link HashChainAuditLog.checkpointIfDue} for the records other nodes wrote.
   */
  signsCheckpoints?: () => boolean;
}

interface Waiter {
  body: Omit<AuditBodyV1, 'seq'>;
  resolve: (r: { seq: number }) => void;
  reject: (err: unknown) => void;
}

/**
 * The audit log as a SHA-256 hash chain in the MetadataStore, with Ed25519-signed
 * checkpoints.
 *
 * Group commit: `record` calls that arrive while an append is in flight wait and go
 * together into the next single `appendAudit` (one transaction, one sync), in arrival
 * order. Each call resolves once its batch is committed and rejects with
 * AuditUnavailableError if the batch failed, whatever the cause.
 *
 * INVARIANT: records are only ever built on the tail the store hands to `appendAudit`
 * inside its transaction, never on a cached tail, so after any failure (or another
 * process appending) the chain continues from what is really stored and never forks.
 */
export class HashChainAuditLog implements AuditLog {
  readonly #store: AuditStore;
  readonly #keys: AuditKeys;
  readonly #checkpointEvery: number;
  readonly #maxBatch: number;
  readonly #sinks: AuditSink[];
  readonly #onError: (err: CofferError) => void;
  readonly #now: () => number;
  readonly #witnesses: CheckpointWitness[];
  readonly #witnessReader: { read(publicKey: KeyObject): Promise<WitnessReading> } | null;
  readonly #node: string;
  readonly #mayCheckpoint: () => Promise<boolean>;
  #timer: NodeJS.Timeout | null = null;
  #witnessChain: Promise<void> = Promise.resolve();
  #floor: Promise<ExportedCheckpoint | null> | null = null;
  readonly #signsCheckpoints: () => boolean;

  #queue: Waiter[] = [];
  /** True while #drain runs; cleared in the same tick as its last look at the queue. */
  #running = false;
  #draining: Promise<void> = Promise.resolve();
  #sinkChain: Promise<void> = Promise.resolve();
  /** Seq of the newest checkpoint known to be stored; null until read from the store. */
  #checkpointedSeq: number | null = null;

  constructor(store: AuditStore, keys: AuditKeys, options: AuditLogOptions = {}) {
    this.#store = store;
    this.#keys = keys;
    this.#checkpointEvery = options.checkpointEvery ?? 1000;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.#sinks = options.sinks ?? [];
    this.#onError = options.onError ?? ((err) => process.emitWarning(`${err.code}: ${err.message}`, 'CofferAuditWarning'));
    this.#now = options.now ?? Date.now;
    this.#witnesses = options.witnesses ?? [];
    this.#witnessReader = options.witnessReader ?? null;
    this.#node = options.node ?? hostname();
    this.#mayCheckpoint = options.mayCheckpoint ?? (() => Promise.resolve(true));
    const every = options.checkpointIntervalMs ?? 0;
    if (every > 0) {
      this.#timer = setInterval(() => void this.#timedCheckpoint(), every);
      this.#timer.unref();
    }
    this.#signsCheckpoints = options.signsCheckpoints ?? (() => true);
  }

  /** The public key that verifies this log's checkpoints (base64url, see exportAuditPublicKey). */
  get publicKey(): string {
    return exportAuditPublicKey(this.#keys);
  }

  /**
   * Appends `event` and resolves with its seq once it is committed and synced, in the
   * next group commit. Rejects with AuditUnavailableError (the caller must not act) if
   * the event cannot be recorded exactly or the store fails.
   */
  record(event: AuditEvent): Promise<{ seq: number }> {
    let body: Omit<AuditBodyV1, 'seq'>;
    try {
      body = auditBodyOf(event, this.#keys);
    } catch (cause) {
      // an event that cannot be recorded exactly is refused like an unavailable log: the caller must not act
      return Promise.reject(new AuditUnavailableError(undefined, { detail: 'audit event cannot be recorded', cause }));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ body, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        this.#draining = this.#drain();
      }
    });
  }

  /**
   * Signs the current tail now, stores the checkpoint and returns it, to be kept
   * outside the database. The records since the last valid stored checkpoint are
   * verified first, so a checkpoint never vouches for a chain that is already broken
   * (AuditChainBrokenError). An empty chain gives a checkpoint of seq 0.
   * AuditUnavailableError if the store fails.
   */
  async checkpoint(): Promise<ExportedCheckpoint> {
    const cp = await this.#signTail();
    // the caller keeps it outside Coffer; the witnesses have it too before this returns
    await this.#witnessChain;
    return cp;
  }

  /**
   * At shutdown: flushes, signs a checkpoint of the tail if records were added since the
   * last one (and hands it to the witnesses), then closes. So a stopped server's whole
   * chain is witnessed: records rewritten or removed while it is down are found.
   */
  async shutdown(): Promise<void> {
    this.#stopTimer();
    await this.flush();
    try {
      const last = await this.#store.lastAudit();
      if (last !== null && (await this.#newestStoredSeq()) < last.seq) await this.checkpoint();
    } catch (cause) {
      this.#report(cause, 'audit shutdown checkpoint failed');
    }
    await this.close();
  }

  /**
   * Signs a checkpoint of the stored tail if `checkpointEvery` records (from any node)
   * passed since the last one; what the checkpoint job of the leading node runs. Never throws.
   */
  async checkpointIfDue(): Promise<void> {
    let tail: StoredAuditRecord | null;
    try {
      tail = await this.#store.lastAudit();
    } catch (cause) {
      this.#report(cause, 'audit checkpoint could not read the tail');
      return;
    }
    if (tail !== null) await this.#maybeCheckpoint(tail.seq);
  }

  /**
   * Streams through every stored record (constant memory apart from the list of signed
   * checkpoints) and reports the first bad one; see ChainVerifier for the checks. With
   * `options.checkpoint`, also fails unless the chain holds that record with that hash.
   * AuditUnavailableError if the store cannot be read.
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    const v = new ChainVerifier(this.#keys.publicKey);
    let reading: WitnessReading | null = null;
    let checkpointedSeq = 0;
    try {
      for (const cp of await this.#store.listAuditCheckpoints()) {
        v.addCheckpoint(cp);
        if (checkpointSignatureValid(this.#keys.publicKey, cp)) checkpointedSeq = Math.max(checkpointedSeq, cp.seq);
      }
      if (options.checkpoint !== undefined) v.addCheckpoint(options.checkpoint);
      // INVARIANT: the chain must reach the newest checkpoint a witness outside the database holds
      reading = this.#witnessReader === null ? null : await this.#witnessReader.read(this.#keys.publicKey);
      if (reading?.newest) v.addCheckpoint(reading.newest);
      // every stored row, not only seq >= 1: a row slipped in before the first record is a fault too
      for await (const r of this.#store.iterateAudit()) {
        if (v.push(r) !== null) break;
      }
    } catch (cause) {
      throw unavailable('audit verification could not read the log', cause);
    }
    const result = v.finish();
    if (reading === null) return result;
    const witnessedSeq = reading.newest?.seq ?? 0;
    const out: VerifyResult = {
      ...result,
      witness: { source: reading.source, entries: reading.entries, newest: reading.newest && { seq: reading.newest.seq, time: reading.newest.time, node: reading.newest.node }, fault: reading.fault },
      witnessedSeq,
      unwitnessed: Math.max(0, result.lastSeq - witnessedSeq),
      checkpointedSeq,
    };
    if (result.ok && reading.fault !== null) {
      // a damaged witness is evidence of tampering too
      out.ok = false;
      out.firstBad = { seq: witnessedSeq, kind: 'witness', reason: `witness: ${reading.fault}` };
    }
    return out;
  }

  /**
   * The records with seq >= `fromSeq` (default: every stored record) as JSON Lines,
   * one record per string, each ending with `\n` (format: see exportLine). With
   * `withCheckpoints`, each stored checkpoint follows the record it signs as a
   * `{"checkpoint":...}` line, so verifyExport can check the file against the public
   * key alone. AuditUnavailableError if the store cannot be read.
   */
  async *export(fromSeq?: number, options: { withCheckpoints?: boolean } = {}): AsyncGenerator<string> {
    let cps: StoredAuditCheckpoint[] = [];
    try {
      if (options.withCheckpoints === true) {
        cps = (await this.#store.listAuditCheckpoints()).filter((c) => c.seq >= (fromSeq ?? 0)).sort((a, b) => a.seq - b.seq);
      }
    } catch (cause) {
      throw unavailable('audit export could not read the log', cause);
    }
    let i = 0;
    const it = this.#store.iterateAudit(fromSeq)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<StoredAuditRecord>;
        try {
          next = await it.next();
        } catch (cause) {
          throw unavailable('audit export could not read the log', cause);
        }
        if (next.done === true) break;
        yield exportLine(next.value);
        while (i < cps.length && cps[i]!.seq <= next.value.seq) yield checkpointLine(cps[i++]!);
      }
      // checkpoints beyond the last record stay in the file: they show its tail is missing
      while (i < cps.length) yield checkpointLine(cps[i++]!);
    } finally {
      await it.return?.();
    }
  }

  /** Resolves once every record accepted so far is settled and background checkpoint and sink writes are done. */
  async flush(): Promise<void> {
    while (this.#running) await this.#draining;
    await this.#sinkChain;
    await this.#witnessChain;
  }

  /** Stops the checkpoint timer, flushes, then closes the sinks and witnesses. The store is the caller's to close. */
  async close(): Promise<void> {
    this.#stopTimer();
    await this.flush();
    for (const sink of [...this.#sinks, ...this.#witnesses]) {
      try {
        await sink.close();
      } catch (cause) {
        this.#report(cause, 'audit sink could not be closed');
      }
    }
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The timed checkpoint: only when records were added since the newest stored checkpoint. Never throws. */
  async #timedCheckpoint(): Promise<void> {
    try {
      // INVARIANT: with several nodes only the lease holder signs, by time as by count
      if (this.#running || !this.#signsCheckpoints() || !(await this.#mayCheckpoint())) return;
      const last = await this.#store.lastAudit();
      if (last === null || (await this.#newestStoredSeq()) >= last.seq) return;
      await this.#signTail(last.seq);
    } catch (cause) {
      this.#report(cause, 'timed audit checkpoint failed');
    }
  }

  /**
   * The newest checkpoint the witness file held when this process first looked (read
   * once: later checkpoints are this process's own, and stored). Null without a witness.
   */
  async #witnessFloor(): Promise<ExportedCheckpoint | null> {
    if (this.#witnessReader === null) return null;
    this.#floor ??= this.#witnessReader.read(this.#keys.publicKey).then(
      async (r) => {
        if (r.fault !== null) this.#report(new AuditChainBrokenError(undefined, { detail: `witness: ${r.fault}` }), 'audit witness damaged');
        // checkpoints in the database that the witness never saw: it was replaced or emptied
        if (r.newest === null && (await this.#store.listAuditCheckpoints()).length > 0) {
          this.#report(new AuditChainBrokenError(undefined, { detail: `witness ${r.source} holds no checkpoint although the database has some: the chain is unwitnessed` }), 'audit witness empty');
        }
        return r.newest;
      },
      (cause: unknown) => {
        this.#report(cause, 'audit witness could not be read');
        return null;
      },
    );
    return this.#floor;
  }

  async #newestStoredSeq(): Promise<number> {
    const stored = await this.#store.listAuditCheckpoints();
    this.#checkpointedSeq = stored.reduce((m, c) => Math.max(m, c.seq), this.#checkpointedSeq ?? 0);
    return this.#checkpointedSeq;
  }

  /** Hands a stored checkpoint to every witness, in order, in the background (flush() waits for them). */
  #witness(cp: ExportedCheckpoint): void {
    if (this.#witnesses.length === 0) return;
    const entry: WitnessedCheckpoint = { ...cp, time: new Date(this.#now()).toISOString(), node: this.#node };
    for (const w of this.#witnesses) {
      this.#witnessChain = this.#witnessChain.then(() => w.append(entry)).catch((cause: unknown) => this.#report(cause, `audit witness \`${w.name}\` failed`));
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // Group commit: wait one turn of the event loop so every request already read from
        // its socket (authentication and policy are microtasks) joins this batch. With the
        // synchronous SQLite driver a commit blocks the loop, so without this wait each
        // request would commit alone and pay a full fsync.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.#queue.splice(0, this.#maxBatch);
        let built: StoredAuditRecord[] = [];
        try {
          await this.#store.appendAudit((tail) => {
            built = buildRecords(tail, batch);
            return built;
          });
          if (built.length !== batch.length) throw new InternalError('audit append did not build the batch');
        } catch (cause) {
          const err = unavailable('audit append failed', cause);
          for (const w of batch) w.reject(err);
          continue;
        }
        batch.forEach((w, i) => w.resolve({ seq: built[i]!.seq }));
        this.#feedSinks(built);
        // in the write path, so checkpoints fall at batch ends; records arriving meanwhile join the next batch
        await this.#maybeCheckpoint(built[built.length - 1]!.seq);
      }
    } finally {
      // INVARIANT: cleared in the same tick as the last look at the queue, or a record queued in between would never be written
      this.#running = false;
    }
  }

  #feedSinks(records: StoredAuditRecord[]): void {
    for (const sink of this.#sinks) {
      this.#sinkChain = this.#sinkChain.then(
        () => sink.write(records),
      ).catch((cause: unknown) => this.#report(cause, 'audit sink write failed'));
    }
  }

  /** Signs a checkpoint of `tailSeq` if `checkpointEvery` records passed since the last one. Never throws. */
  async #maybeCheckpoint(tailSeq: number): Promise<void> {
    if (this.#checkpointEvery <= 0 || !this.#signsCheckpoints()) return;
    try {
      if (this.#checkpointedSeq === null) {
        const stored = await this.#store.listAuditCheckpoints();
        this.#checkpointedSeq = stored.reduce((m, c) => Math.max(m, c.seq), 0);
      }
      if (tailSeq - this.#checkpointedSeq >= this.#checkpointEvery) await this.#signTail(tailSeq);
    } catch (cause) {
      this.#report(cause, 'audit checkpoint failed');
    }
  }

  /** Verifies the records since the newest valid stored checkpoint up to `upTo` (default: the tail), then signs and stores the last. */
  async #signTail(upTo = Number.MAX_SAFE_INTEGER): Promise<ExportedCheckpoint> {
    let result: VerifyResult;
    try {
      const stored = (await this.#store.listAuditCheckpoints()).sort((a, b) => b.seq - a.seq);
      const anchor = stored.find((c) => checkpointSignatureValid(this.#keys.publicKey, c));
      // verify from the newest valid signed checkpoint: signing must never launder a rewritten chain
      const v = new ChainVerifier(this.#keys.publicKey, { partialStart: anchor !== undefined });
      if (anchor !== undefined) v.addCheckpoint(anchor);
      // nor a chain cut or rewritten behind a checkpoint the witness holds (its stored copy deleted with it)
      const floor = await this.#witnessFloor();
      if (floor !== null && floor.seq > (anchor?.seq ?? 0)) v.addCheckpoint(floor);
      for await (const r of this.#store.iterateAudit(anchor?.seq ?? 1)) {
        if (r.seq > upTo || v.push(r) !== null) break;
      }
      result = v.finish();
    } catch (cause) {
      throw unavailable('audit checkpoint could not read the log', cause);
    }
    if (!result.ok) {
      throw new AuditChainBrokenError(undefined, { detail: `refusing to sign checkpoint: ${result.firstBad?.reason ?? ''} (seq ${result.firstBad?.seq ?? 0})` });
    }
    const cp = signCheckpoint(this.#keys.signingKey, result.lastSeq, result.lastHash);
    if (cp.seq === 0) return cp;
    try {
      await this.#store.putAuditCheckpoint({ ...cp, createdAt: this.#now() });
    } catch (cause) {
      // Ed25519 is deterministic: a checkpoint already stored for this seq and this hash is this very one
      if (!(cause instanceof AlreadyExistsError)) throw unavailable('audit checkpoint could not be stored', cause);
    }
    this.#checkpointedSeq = Math.max(this.#checkpointedSeq ?? 0, cp.seq);
    this.#witness(cp);
    return cp;
  }

  #report(cause: unknown, message: string): void {
    const err = cause instanceof CofferError ? cause : new InternalError(message, { cause });
    try {
      this.#onError(err);
    } catch {
      // a failing error reporter must not break the log
    }
  }
}

/** The records of `batch` continuing `tail`. */
function buildRecords(tail: StoredAuditRecord | null, batch: readonly Waiter[]): StoredAuditRecord[] {
  if (tail !== null && (!Number.isSafeInteger(tail.seq) || tail.seq < 1 || !isHash(tail.hash))) {
    // a corrupt tail cannot be chained to: refuse (fail closed) rather than start a new chain
    throw new AuditChainBrokenError(undefined, { detail: 'the stored audit tail is corrupt' });
  }
  let seq = tail?.seq ?? 0;
  let prev = tail?.hash ?? GENESIS_HASH;
  const out: StoredAuditRecord[] = [];
  for (const w of batch) {
    seq++;
    const body = serializeAuditBody(w.body, seq);
    const hash = hashAuditRecord(body, prev);
    out.push({ seq, body, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

function unavailable(detail: string, cause: unknown): AuditUnavailableError {
  return new AuditUnavailableError(undefined, { detail, cause });
}
