/**
 * Storage. Ports: {@link MetadataStore} (catalog, principals, tokens, grants,
 * settings, audit log) and {@link BlobStore} (ciphertext objects).
 * Adapters: SQLite (embedded default) and PostgreSQL through one Kysely
 * implementation; a filesystem blob store and an S3 one (`openS3BlobStore` in
 * `./s3/index.js`). Only the composition root picks one:
 *
 *   const meta = openSqliteStore(join(dataDir, 'coffer.db')); // or openPostgresStore(url)
 *   await meta.migrate();
 *   const blobs = new FsBlobStore(join(dataDir, 'blobs'));
 *   await blobs.sweepTemp();
 */
export type { MetadataStore, ListOptions, Page, StoredAuditRecord, StoredAuditCheckpoint } from './metadata-store.js';
export type { BlobStore, BlobInfo, BlobStat, ByteRange } from './blob-store.js';
export { assertBlobKey, isBlobKey } from './blob-key.js';
export { SqlMetadataStore } from './sql/sql-metadata-store.js';
export { ChangeCounter, type StoreChanges } from './sql/change-counter.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/open-sqlite-store.js';
export { openPostgresStore, type PostgresStoreOptions } from './postgres/open-postgres-store.js';
export { FsBlobStore } from './fs/fs-blob-store.js';
// the S3 adapter is its own entry point (./s3/index.js): the AWS SDK takes seconds to load,
// so only a node configured for S3 loads it
export type { S3BlobStore, S3BlobStoreOptions, IncompleteUpload } from './s3/s3-blob-store.js';
export type { S3BlobStoreSettings } from './s3/open-s3-blob-store.js';
export type { ConditionalCreate } from './s3/s3-upload.js';
