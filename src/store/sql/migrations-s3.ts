import { sql, type Kysely, type Migration } from 'kysely';
import { addColumnIfMissing } from './migration-helpers.js';
import type { SqlDialectName } from './migrations.js';

/**
 * Tables of the S3 endpoint (migration `005_s3`): temporary credentials, S3 facts of
 * versions (ETag, checksums, part sizes), delete markers, multipart uploads and parts;
 * `007_s3_completion_claim`: the claim a node holds while it completes an upload;
 * `008_s3_user_metadata`: the user-defined metadata (`x-amz-meta-*`) of versions and uploads;
 * `010_s3_part_blob_key`: parts by blob key (the orphaned-blob sweep asks whether a blob is a part);
 * `015_s3_keys`: the S3 key an artifact name stands for, the column S3 listings order and page by;
 * `015_s3_purged_versions`: versions hidden from the S3 view by DeleteObject with a version id.
 * `016_s3_content_headers_completed`: the content headers (Cache-Control...) of versions and uploads,
 * and the uploads already completed (a repeated Complete answers as the first did).
 * Append-only like migrations.ts; every statement uses IF NOT EXISTS (or checks first).
 */
export function s3Migrations(dialect: SqlDialectName): Record<string, Migration> {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  // keys sort bytewise in both dialects, so S3 listings agree between them
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    '005_s3': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('s3_credentials')
          .ifNotExists()
          .addColumn('access_key_id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('token_id', 'text', (c) => c.notNull())
          .addColumn('wrapped_secret', bytes, (c) => c.notNull())
          .addColumn('key_term', 'integer', (c) => c.notNull())
          .addColumn('session_hash', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('s3_credentials_principal_idx').ifNotExists().on('s3_credentials').columns(['principal_id', 'created_at']).execute();
        await db.schema.createIndex('s3_credentials_expires_idx').ifNotExists().on('s3_credentials').column('expires_at').execute();

        await db.schema
          .createTable('s3_objects')
          .ifNotExists()
          .addColumn('version_id', 'text', (c) => c.primaryKey())
          .addColumn('etag', 'text', (c) => c.notNull())
          .addColumn('checksums', 'text', (c) => c.notNull())
          .addColumn('checksum_type', 'text', (c) => c.notNull())
          .addColumn('part_sizes', 'text')
          .execute();

        await db.schema
          .createTable('s3_delete_markers')
          .ifNotExists()
          .addColumn('artifact_id', 'text', (c) => c.primaryKey().references('artifacts.id'))
          .addColumn('hides_through', 'integer', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('s3_uploads')
          .ifNotExists()
          .addColumn('upload_id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
          .addColumn('key', key, (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('content_type', 'text', (c) => c.notNull())
          .addColumn('checksum_algorithm', 'text')
          .addColumn('checksum_type', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('s3_uploads_project_key_idx').ifNotExists().on('s3_uploads').columns(['project_id', 'key', 'upload_id']).execute();
        await db.schema.createIndex('s3_uploads_created_idx').ifNotExists().on('s3_uploads').column('created_at').execute();

        await db.schema
          .createTable('s3_upload_parts')
          .ifNotExists()
          .addColumn('upload_id', 'text', (c) => c.notNull().references('s3_uploads.upload_id'))
          .addColumn('part_number', 'integer', (c) => c.notNull())
          .addColumn('object_id', 'text', (c) => c.notNull())
          .addColumn('blob_key', 'text', (c) => c.notNull())
          .addColumn('wrapped_key', bytes, (c) => c.notNull())
          .addColumn('key_term', 'integer', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('md5', 'text', (c) => c.notNull())
          .addColumn('checksums', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('s3_upload_parts_pk', ['upload_id', 'part_number'])
          .execute();
      },
    },
    // named after 006_policy: the migrator applies migrations in name order, after the applied ones
    '007_s3_completion_claim': {
      // who is completing an upload (a random claim id) and until when (epoch ms): a lease
      // taken with one conditional UPDATE, so one node at a time re-seals the parts
      async up(db: Kysely<unknown>): Promise<void> {
        await addColumnIfMissing(db, dialect, 's3_uploads', 'completion_claim', 'text');
        await addColumnIfMissing(db, dialect, 's3_uploads', 'completion_expires_at', 'bigint');
      },
    },
    '008_s3_user_metadata': {
      // the x-amz-meta-* headers of a write, as a JSON object (null: none): per version on
      // s3_objects, and on s3_uploads from CreateMultipartUpload until Complete
      async up(db: Kysely<unknown>): Promise<void> {
        await addColumnIfMissing(db, dialect, 's3_objects', 'user_metadata', 'text');
        await addColumnIfMissing(db, dialect, 's3_uploads', 'user_metadata', 'text');
      },
    },
    '010_s3_part_blob_key': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.createIndex('s3_upload_parts_blob_key_idx').ifNotExists().on('s3_upload_parts').column('blob_key').execute();
      },
    },
    '015_s3_keys': {
      // artifacts.name is the canonical (escaped) name; s3_key the key it stands for, in
      // UTF-8 byte order (S3's listing order). Names written before keys were escaped are
      // their own keys (no `%`, nothing outside printable ASCII), so the backfill copies them.
      async up(db: Kysely<unknown>): Promise<void> {
        await addColumnIfMissing(db, dialect, 'artifacts', 's3_key', 'key');
        await sql`update artifacts set s3_key = name where s3_key is null`.execute(db);
        await db.schema.createIndex('artifacts_project_s3_key_uq').ifNotExists().unique().on('artifacts').columns(['project_id', 's3_key']).execute();
      },
    },
    '015_s3_purged_versions': {
      // a version deleted by its id through S3: hidden from the S3 view, kept in the catalog
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('s3_purged_versions')
          .ifNotExists()
          .addColumn('version_id', 'text', (c) => c.primaryKey())
          .addColumn('artifact_id', 'text', (c) => c.notNull())
          .addColumn('number', 'integer', (c) => c.notNull())
          .addColumn('purged_by', 'text', (c) => c.notNull())
          .addColumn('purged_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('s3_purged_versions_artifact_idx').ifNotExists().on('s3_purged_versions').columns(['artifact_id', 'number']).execute();
      },
    },
    '016_s3_content_headers_completed': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Cache-Control, Content-Disposition... of a write, as a JSON object (null: none)
        await addColumnIfMissing(db, dialect, 's3_objects', 'content_headers', 'text');
        await addColumnIfMissing(db, dialect, 's3_uploads', 'content_headers', 'text');
        // an upload id, once completed, names the version it became (a retried Complete answers with it)
        await db.schema
          .createTable('s3_completed_uploads')
          .ifNotExists()
          .addColumn('upload_id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull())
          .addColumn('key', key, (c) => c.notNull())
          .addColumn('version_id', 'text', (c) => c.notNull())
          .addColumn('completed_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('s3_completed_uploads_at_idx').ifNotExists().on('s3_completed_uploads').column('completed_at').execute();
      },
    },
  };
}
