import type { KeyObject } from 'node:crypto';
import type { AuditFaultKind, ExportedCheckpoint, VerifyResult } from './audit-event.js';
import { GENESIS_HASH, hashAuditRecord, isHash, parseAuditBody } from './audit-record.js';
import { checkpointSignatureValid } from './checkpoint.js';

/** One record of a chain as a verifier sees it (from the store or from an export). */
export interface ChainRecord {
  seq: number;
  /** The stored body text, exactly as hashed. */
  body: string;
  prevHash: string;
  hash: string;
}

/** The first thing wrong with a chain. */
export interface ChainFault {
  seq: number;
  kind: AuditFaultKind;
  reason: string;
}

/**
 * Checks a chain fed to it record by record in seq order, in constant memory (apart
 * from the signed checkpoints still ahead of it), and remembers the first fault.
 *
 * For each record it checks that the seq continues the sequence, that the body is the
 * canonical JSON of a valid record whose `seq` is the record's, that the record links
 * to the hash of the record before it, that its hash is SHA-256(body || previous hash),
 * and that every signed checkpoint of its seq verifies under the public key and pins
 * this very hash. When a check fails it tells what most likely happened (see
 * AuditFaultKind) from the record's own consistency and the two hashes before it.
 */
export class ChainVerifier {
  readonly #publicKey: KeyObject;
  readonly #partialStart: boolean;
  #started = false;
  #expected = 1;
  #prev = GENESIS_HASH;
  /** Hash of the record before the previous one: recognizes a record slipped in between. */
  #prev2: string | null = null;
  #checked = 0;
  /** Seq of the last record a signed checkpoint pinned (0 = none yet). */
  #lastPinned = 0;
  readonly #pending: ExportedCheckpoint[] = [];
  #fault: ChainFault | null = null;

  /**
   * With `partialStart`, the first record may have any seq and its previous hash is
   * taken on trust (an export that starts after seq 1); otherwise the chain must start
   * at seq 1 from the genesis hash.
   */
  constructor(publicKey: KeyObject, options: { partialStart?: boolean } = {}) {
    this.#publicKey = publicKey;
    this.#partialStart = options.partialStart ?? false;
  }

  /** The first fault found so far, if any. */
  get fault(): ChainFault | null {
    return this.#fault;
  }

  /**
   * Adds a signed checkpoint the chain must match. A checkpoint of a seq not yet seen
   * is checked when its record arrives; one of the last record seen is checked now.
   */
  addCheckpoint(cp: ExportedCheckpoint): ChainFault | null {
    if (this.#fault !== null) return this.#fault;
    if (cp.seq === 0 || (this.#started && cp.seq === this.#expected - 1)) return this.#checkCheckpoint(cp, cp.seq === 0 ? GENESIS_HASH : this.#prev);
    if (this.#started && cp.seq < this.#expected) {
      return this.#fail(cp.seq, 'checkpoint', `checkpoint of seq ${cp.seq} comes after later records and cannot be checked`);
    }
    let i = this.#pending.length;
    while (i > 0 && this.#pending[i - 1]!.seq > cp.seq) i--;
    this.#pending.splice(i, 0, cp);
    return null;
  }

  /** Checks the next record. Returns the first fault (this one or an earlier one), or null. */
  push(r: ChainRecord): ChainFault | null {
    if (this.#fault !== null) return this.#fault;
    if (!Number.isSafeInteger(r.seq) || r.seq < 0) return this.#fail(this.#expected, 'malformed', `record after seq ${this.#expected - 1} has no valid seq`);
    if (!isHash(r.prevHash) || !isHash(r.hash) || typeof r.body !== 'string') return this.#fail(r.seq, 'malformed', 'record hashes are not 64 hex digits');
    if (!this.#started) {
      this.#started = true;
      if (this.#partialStart && r.seq > 1) {
        this.#expected = r.seq;
        this.#prev = r.prevHash;
      }
      const early = this.#pending[0];
      if (early !== undefined && early.seq < this.#expected) {
        return this.#fail(early.seq, 'checkpoint', `checkpoint of seq ${early.seq} precedes the first record (${r.seq}) and cannot be checked`);
      }
    }
    const f = this.#classify(r);
    if (f !== null) return f;
    while (this.#pending.length > 0 && this.#pending[0]!.seq === r.seq) {
      const cf = this.#checkCheckpoint(this.#pending.shift()!, r.hash);
      if (cf !== null) return cf;
    }
    this.#prev2 = this.#prev;
    this.#prev = r.hash;
    this.#expected = r.seq + 1;
    this.#checked++;
    return null;
  }

  /** Records a fault found outside the records themselves (an unreadable export line) at the next seq. */
  reject(kind: AuditFaultKind, detail: string): ChainFault {
    return this.#fault ?? this.#fail(this.#expected, kind, detail);
  }

  /** Ends the chain: a signed checkpoint beyond its last record means its tail was deleted. */
  finish(): VerifyResult {
    const first = this.#pending[0];
    if (this.#fault === null && first !== undefined) {
      const signed = this.#pending.filter((cp) => checkpointSignatureValid(this.#publicKey, cp)).pop();
      const last = this.#expected - 1;
      if (signed === undefined) this.#fail(first.seq, 'checkpoint', `checkpoint of seq ${first.seq} has no valid signature`);
      else this.#fail(last + 1, 'truncated', `the chain ends at seq ${last} but a signed checkpoint covers seq ${signed.seq}: records ${last + 1} to ${signed.seq} were deleted`);
    }
    const result: VerifyResult = { ok: this.#fault === null, checked: this.#checked, lastSeq: this.#expected - 1, lastHash: this.#prev };
    if (this.#fault !== null) result.firstBad = { ...this.#fault };
    return result;
  }

  #classify(r: ChainRecord): ChainFault | null {
    const e = this.#expected;
    if (r.seq > e) return this.#fail(e, 'deleted', `records ${e} to ${r.seq - 1} are missing`);
    if (r.seq < e) {
      return this.#fail(r.seq, 'inserted', this.#checked === 0 ? `record of seq ${r.seq} precedes the first record` : `record of seq ${r.seq} appears after seq ${e - 1}`);
    }
    const linked = r.prevHash === this.#prev;
    const selfConsistent = hashAuditRecord(r.body, r.prevHash) === r.hash;
    const parsed = parseAuditBody(r.body);
    if ('error' in parsed) {
      return selfConsistent
        ? this.#fail(r.seq, 'malformed', `record ${r.seq}: ${parsed.error}`)
        : this.#fail(r.seq, 'changed', `record ${r.seq} was altered: ${parsed.error}`);
    }
    const bodySeq = parsed.body.seq;
    if (linked && selfConsistent && bodySeq === r.seq) return null;
    if (r.hash === this.#prev && this.#checked > 0) return this.#fail(r.seq, 'inserted', `record ${r.seq} is a copy of record ${r.seq - 1}`);
    // the previous record is blamed only if no signed checkpoint vouches for it
    const prevUnpinned = this.#checked > 0 && this.#lastPinned !== r.seq - 1;
    if (!linked && selfConsistent && prevUnpinned && r.prevHash === this.#prev2) {
      return this.#failPrevious(r.seq - 1, 'inserted', `record ${r.seq - 1} is not part of the chain: the next record links to the record before it`);
    }
    if (bodySeq !== r.seq) {
      return this.#fail(r.seq, 'reordered', `record ${r.seq} holds the body written as record ${bodySeq} (records were moved, or deleted or inserted and renumbered)`);
    }
    if (linked) return this.#fail(r.seq, 'changed', `record ${r.seq} was altered: its hash does not match its body`);
    if (selfConsistent && prevUnpinned) {
      return this.#failPrevious(r.seq - 1, 'changed', `record ${r.seq - 1} was altered: record ${r.seq} was chained to another hash of it`);
    }
    return this.#fail(r.seq, 'changed', `record ${r.seq} was altered: it does not link to the record before it`);
  }

  #checkCheckpoint(cp: ExportedCheckpoint, hash: string): ChainFault | null {
    if (!checkpointSignatureValid(this.#publicKey, cp)) return this.#fail(cp.seq, 'checkpoint', `checkpoint of seq ${cp.seq} has no valid signature`);
    if (cp.hash !== hash) {
      return this.#fail(cp.seq, 'checkpoint', `record ${cp.seq} differs from its signed checkpoint: records ${this.#lastPinned + 1} to ${cp.seq} were rewritten`);
    }
    this.#lastPinned = cp.seq;
    return null;
  }

  /** A fault of the record before the current one: it no longer counts as verified. */
  #failPrevious(seq: number, kind: AuditFaultKind, detail: string): ChainFault {
    this.#prev = this.#prev2 ?? GENESIS_HASH;
    this.#expected--;
    this.#checked--;
    return this.#fail(seq, kind, detail);
  }

  #fail(seq: number, kind: AuditFaultKind, detail: string): ChainFault {
    this.#fault = { seq, kind, reason: `${kind}: ${detail}` };
    return this.#fault;
  }
}
