import { open, type FileHandle } from 'node:fs/promises';
import type { StoredAuditRecord } from '../store/metadata-store.js';
import { StorageError } from '../domain/errors.js';
import { exportLine } from './export-line.js';

/**
 * A secondary destination for audit records (a SIEM feed, a file). The chain in the
 * MetadataStore is the record of truth: a sink receives records after they are durably
 * stored, in seq order, and its failures never fail a request (they go to `onError`).
 */
export interface AuditSink {
  write(records: readonly StoredAuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Appends records to a file as JSON Lines, in the format of `AuditLog.export`, so the
 * file can be verified offline with verifyExport. Each batch is one write.
 */
export class JsonLinesFileSink implements AuditSink {
  readonly #path: string;
  #handle: FileHandle | null = null;

  constructor(path: string) {
    this.#path = path;
  }

  async write(records: readonly StoredAuditRecord[]): Promise<void> {
    try {
      // 0600: records hold request context an unprivileged local user has no business reading
      this.#handle ??= await open(this.#path, 'a', 0o600);
      await this.#handle.appendFile(records.map(exportLine).join(''), 'utf8');
    } catch (cause) {
      throw new StorageError('audit sink write failed', { detail: `audit sink ${this.#path}`, cause });
    }
  }

  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = null;
    await h?.close();
  }
}
