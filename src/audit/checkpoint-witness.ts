import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { StorageError } from '../domain/errors.js';
import type { ExportedCheckpoint } from './audit-event.js';
import { checkpointSignatureValid } from './checkpoint.js';

/** A signed checkpoint as a witness keeps it: when and by which node it was signed. */
export interface WitnessedCheckpoint extends ExportedCheckpoint {
  /** ISO time of signing. */
  time: string;
  /** The node that signed it (its host name): each node witnesses what it checkpointed. */
  node: string;
}

/**
 * A place outside the database that checkpoints are appended to as they are signed,
 * so deleting or rewriting the database (records and stored checkpoints together)
 * is detected against it. Write-only witnesses (a webhook, syslog) keep the copy out
 * of reach of whoever holds the host; the file witness is the one `audit verify` reads.
 */
export interface CheckpointWitness {
  /** For error reports (`file`, `webhook`, `syslog`). */
  readonly name: string;
  append(cp: WitnessedCheckpoint): Promise<void>;
  close(): Promise<void>;
}

/** What verification learns from a witness file. */
export interface WitnessReading {
  source: string;
  /** Lines that are valid, signed entries. */
  entries: number;
  /** The valid entry of the highest seq, or null. */
  newest: WitnessedCheckpoint | null;
  /** The first thing wrong with the file (a line edited, removed, reordered, or not signed), if any. */
  fault: string | null;
}

/** Format version of witness lines. */
const WITNESS_V = 1;
const GENESIS = '0'.repeat(64);

/** SHA-256 of a witness line's text (without its newline), hex. */
function lineHash(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}

/**
 * The witness file: one JSON line per checkpoint, appended and synced. Every line
 * carries the checkpoint's Ed25519 signature, so no entry can be made up without the
 * audit signing key; each line also names the SHA-256 of the line before it (`prev`),
 * which shows damage inside the file (a line lost, edited or moved) but not a careful
 * editor, who can recompute it. Removing the last lines cannot be seen from the file
 * alone: keep it on other storage than the database (`auditWitnessFile`), and add a
 * remote witness (webhook, syslog) that the host cannot take back.
 *
 * Created 0600 on first append. A torn last line (a crash mid-append) is ignored when
 * read and the next append starts a new line after it.
 */
export class WitnessFile implements CheckpointWitness {
  readonly name = 'file';
  readonly #path: string;
  #handle: FileHandle | null = null;
  #prev: string | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
  }

  get path(): string {
    return this.#path;
  }

  append(cp: WitnessedCheckpoint): Promise<void> {
    // one append at a time: each line names the one before it
    const run = this.#writing.then(() => this.#append(cp));
    this.#writing = run.catch(() => undefined);
    return run;
  }

  async #append(cp: WitnessedCheckpoint): Promise<void> {
    try {
      if (this.#handle === null) {
        const last = await lastLine(this.#path);
        this.#prev = last === null ? GENESIS : lineHash(last.text);
        this.#handle = await open(this.#path, 'a', 0o600);
        // a crash left half a line: end it, so the next entry stands on a line of its own
        if (last !== null && !last.complete) await this.#handle.appendFile('\n', 'utf8');
      }
      const line = JSON.stringify({ v: WITNESS_V, seq: cp.seq, hash: cp.hash, signature: cp.signature, time: cp.time, node: cp.node, prev: this.#prev });
      await this.#handle.appendFile(`${line}\n`, 'utf8');
      await this.#handle.sync();
      this.#prev = lineHash(line);
    } catch (cause) {
      await this.#drop();
      throw new StorageError('audit witness file write failed', { detail: `witness ${this.#path}`, cause });
    }
  }

  /**
   * Reads the whole file (streamed, constant memory): checks each line's form, its
   * link to the line before and its signature under `publicKey`, and returns the valid
   * entry of the highest seq with the first fault found. A missing file reads as empty.
   */
  async read(publicKey: KeyObject): Promise<WitnessReading> {
    const reading: WitnessReading = { source: this.#path, entries: 0, newest: null, fault: null };
    try {
      await stat(this.#path);
    } catch {
      return reading;
    }
    let prev = GENESIS;
    let n = 0;
    // one line of lookahead: a line that is not JSON is a crash mid-append only if it is the last
    let torn: number | null = null;
    const fail = (line: number, why: string) => {
      reading.fault ??= `${this.#path} line ${line}: ${why}`;
    };
    const lines = createInterface({ input: createReadStream(this.#path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      if (torn !== null) fail(torn, 'is not a witness entry');
      torn = null;
      const o = parseLine(line);
      if (o === null) {
        torn = n;
      } else if (o.prev !== prev) {
        fail(n, 'does not follow the line before it (lines were removed, edited or reordered)');
      } else if (!checkpointSignatureValid(publicKey, o)) {
        fail(n, `checkpoint of seq ${o.seq} has no valid signature`);
      } else {
        reading.entries++;
        if (reading.newest === null || o.seq > reading.newest.seq) reading.newest = { seq: o.seq, hash: o.hash, signature: o.signature, time: o.time, node: o.node };
      }
      prev = lineHash(line);
    }
    return reading;
  }

  async close(): Promise<void> {
    await this.#writing;
    await this.#drop();
  }

  async #drop(): Promise<void> {
    const h = this.#handle;
    this.#handle = null;
    await h?.close().catch(() => undefined);
  }
}

/** A witness line's fields, or null if it is not one. */
function parseLine(line: string): (WitnessedCheckpoint & { prev: string }) | null {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  if (r.v !== WITNESS_V || typeof r.seq !== 'number' || typeof r.hash !== 'string' || typeof r.signature !== 'string' || typeof r.time !== 'string' || typeof r.node !== 'string' || typeof r.prev !== 'string') return null;
  return { seq: r.seq, hash: r.hash, signature: r.signature, time: r.time, node: r.node, prev: r.prev };
}

/** The last line of a file (without its newline) and whether it was complete; null for a missing or empty file. */
async function lastLine(path: string): Promise<{ text: string; complete: boolean } | null> {
  let h: FileHandle;
  try {
    h = await open(path, 'r');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { size } = await h.stat();
    if (size === 0) return null;
    // witness lines are a few hundred bytes: the tail of the file holds the last one
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    await h.read(buf, 0, length, size - length);
    const text = buf.toString('utf8');
    const complete = text.endsWith('\n');
    const body = complete ? text.slice(0, -1) : text;
    return { text: body.slice(body.lastIndexOf('\n') + 1), complete };
  } finally {
    await h.close();
  }
}
