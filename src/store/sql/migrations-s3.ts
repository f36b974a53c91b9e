import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * Tables of the S3 endpoint (migration `005_s3`): temporary credentials, S3 facts of
 * versions (ETag, checksums, part sizes), delete markers, multipart uploads and parts;
 * `007_s3_completion_claim`: the claim a node holds while it completes an upload;
 * `008_s3_user_metadata`: the user-defined metadata (`x-amz-meta-*`) of versions and uploads;
 * `010_s3_part_blob_key`: parts by blob key (the orphaned-blob sweep asks whether a blob is a part).
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
  };
}

/**
 * ALTER TABLE ADD COLUMN that a rerun skips: PostgreSQL has IF NOT EXISTS; SQLite has
 * not (and runs migrations without a transaction), so its table_info is read first.
 */
async function addColumnIfMissing(db: Kysely<unknown>, dialect: SqlDialectName, table: string, column: string, type: 'text' | 'bigint'): Promise<void> {
  if (dialect === 'postgres') {
    await sql`alter table ${sql.table(table)} add column if not exists ${sql.ref(column)} ${sql.raw(type)}`.execute(db);
    return;
  }
  const { rows } = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db);
  if (!rows.some((r) => r.name === column)) await db.schema.alterTable(table).addColumn(column, type).execute();
}
