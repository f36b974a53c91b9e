import { open, type FileHandle } from 'node:fs/promises';
import { StorageError } from '../../domain/errors.js';
import type { AlertSink, Notice } from './alert-sink.js';

/** Appends each alert as one JSON line to a file (0600), for log shippers. */
export class JsonLinesAlertSink implements AlertSink {
  readonly name = 'file';
  #handle: FileHandle | null = null;

  constructor(private readonly path: string) {}

  async send(notice: Notice): Promise<void> {
    try {
      // 0600: alerts name people and what they touched
      this.#handle ??= await open(this.path, 'a', 0o600);
      await this.#handle.appendFile(`${JSON.stringify(notice)}\n`, 'utf8');
    } catch (cause) {
      throw new StorageError('alert file write failed', { detail: `alert file ${this.path}`, cause });
    }
  }

  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = null;
    await h?.close();
  }
}
