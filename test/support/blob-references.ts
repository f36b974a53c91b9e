import Database from 'better-sqlite3';
import { join } from 'node:path';
import { listTree } from './files.js';

/** The vault blob keys stored under `<dataDir>/blobs/objects` (`objects/xx/<id>`), sorted. */
export async function storedBlobKeys(dataDir: string): Promise<string[]> {
  return (await listTree(join(dataDir, 'blobs', 'objects')))
    .filter((p) => p.endsWith('.blob'))
    .map((p) => `objects/${p.slice(0, -'.blob'.length)}`)
    .sort();
}

/**
 * The blob keys a SQLite data dir's metadata points to: versions and parts of open
 * multipart uploads. Read from the database file directly (read-only; a running server
 * in WAL mode is not disturbed), so the test does not trust the code it checks.
 */
export function referencedBlobKeys(dataDir: string): Set<string> {
  const db = new Database(join(dataDir, 'coffer.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('select blob_key as k from versions union all select blob_key as k from s3_upload_parts').all() as Array<{ k: string }>;
    return new Set(rows.map((r) => r.k));
  } finally {
    db.close();
  }
}

/** Stored vault blobs that no version or open part points to. */
export async function unreferencedBlobs(dataDir: string): Promise<string[]> {
  const referenced = referencedBlobKeys(dataDir);
  return (await storedBlobKeys(dataDir)).filter((k) => !referenced.has(k));
}
