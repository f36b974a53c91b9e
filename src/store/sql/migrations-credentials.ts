import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * Credential lineage (src/store/credential-store.ts), migration `009_credential_lineage`:
 * one row per credential with its parent, inherited methods, expiry and revocation.
 * Credentials older than the table are entered as roots of origin `pre-lineage`: API
 * tokens with the method `token` at their creation (what they were treated as before),
 * sessions with their own methods, S3 keys under the token or session they were issued
 * from, with no method (the weakest: never exempt from step-up, never fresh).
 * Append-only like migrations.ts; every statement is safe to run again.
 */
export function credentialMigrations(_dialect: SqlDialectName): Record<string, Migration> {
  return {
    '009_credential_lineage': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('credentials')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('parent_id', 'text')
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('methods', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .addColumn('revoke_reason', 'text')
          .execute();
        await db.schema.createIndex('credentials_parent_idx').ifNotExists().on('credentials').column('parent_id').execute();
        await db.schema.createIndex('credentials_principal_idx').ifNotExists().on('credentials').columns(['principal_id', 'created_at']).execute();
        await db.schema.createIndex('credentials_origin_idx').ifNotExists().on('credentials').column('origin').execute();

        await sql`insert into credentials (id, kind, principal_id, parent_id, origin, methods, created_at, expires_at, revoked_at, revoke_reason)
          select t.id, 'api-token', t.principal_id, null, 'pre-lineage', '{"token":' || cast(t.created_at as text) || '}', t.created_at, t.expires_at, t.revoked_at,
                 case when t.revoked_at is null then null else 'revoked' end
          from tokens t where not exists (select 1 from credentials c where c.id = t.id)`.execute(db);
        await sql`insert into credentials (id, kind, principal_id, parent_id, origin, methods, created_at, expires_at, revoked_at, revoke_reason)
          select s.id, 'session', s.principal_id, null, 'pre-lineage', s.methods, s.created_at, s.expires_at, s.revoked_at, s.revoke_reason
          from identity_sessions s where not exists (select 1 from credentials c where c.id = s.id)`.execute(db);
        await sql`insert into credentials (id, kind, principal_id, parent_id, origin, methods, created_at, expires_at, revoked_at, revoke_reason)
          select k.access_key_id, 's3-key', k.principal_id,
                 case when k.token_id like 'session:%' then substr(k.token_id, 9) else k.token_id end,
                 'pre-lineage', '{}', k.created_at, k.expires_at, k.revoked_at,
                 case when k.revoked_at is null then null else 'revoked' end
          from s3_credentials k where not exists (select 1 from credentials c where c.id = k.access_key_id)`.execute(db);
      },
    },
  };
}
