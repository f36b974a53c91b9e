import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * Tables of the identity module (migration `002_identity`): credentials, MFA factors,
 * sessions and refresh tokens, one-time tickets, throttling, federation (SSO, workload
 * issuers, service account keys), SCIM records and managed devices.
 * Secrets are never stored in the clear: passwords as argon2id hashes, tokens and codes
 * as SHA-256, TOTP secrets and client secrets sealed by the keyring.
 */
export function identityMigrations(dialect: SqlDialectName): Record<string, Migration> {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    '002_identity': {
      async up(db: Kysely<unknown>): Promise<void> {
        const table = (name: string) => db.schema.createTable(name).ifNotExists();
        const index = (name: string) => db.schema.createIndex(name).ifNotExists();

        await table('identity_passwords')
          .addColumn('principal_id', 'text', (c) => c.primaryKey().references('principals.id'))
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await table('identity_totp')
          .addColumn('principal_id', 'text', (c) => c.primaryKey().references('principals.id'))
          .addColumn('sealed_secret', bytes, (c) => c.notNull())
          .addColumn('confirmed', 'integer', (c) => c.notNull())
          .addColumn('last_step', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();

        await table('identity_recovery_codes')
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .addPrimaryKeyConstraint('identity_recovery_codes_pk', ['principal_id', 'code_hash'])
          .execute();

        await table('identity_webauthn')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('public_key', bytes, (c) => c.notNull())
          .addColumn('counter', 'bigint', (c) => c.notNull())
          .addColumn('transports', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .execute();
        await index('identity_webauthn_principal_idx').on('identity_webauthn').column('principal_id').execute();

        await table('identity_tickets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text')
          .addColumn('session_id', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('consumed_at', 'bigint')
          .execute();
        await index('identity_tickets_expiry_idx').on('identity_tickets').column('expires_at').execute();

        await table('identity_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('methods', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addColumn('revoke_reason', 'text')
          .addColumn('source_ip', 'text', (c) => c.notNull())
          .addColumn('user_agent', 'text', (c) => c.notNull())
          .execute();
        await index('identity_sessions_principal_idx').on('identity_sessions').columns(['principal_id', 'created_at']).execute();

        await table('identity_refresh_tokens')
          .addColumn('hash', 'text', (c) => c.primaryKey())
          .addColumn('session_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await index('identity_refresh_session_idx').on('identity_refresh_tokens').column('session_id').execute();

        await table('identity_revoked_jtis')
          .addColumn('jti', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();

        await table('identity_seen_jtis')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();

        await table('identity_throttle')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('blocked_until', 'bigint', (c) => c.notNull())
          .execute();

        await table('identity_external_ids')
          .addColumn('issuer', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addPrimaryKeyConstraint('identity_external_ids_pk', ['issuer', 'subject'])
          .execute();

        await table('identity_providers')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('config', 'text', (c) => c.notNull())
          .addColumn('sealed_secret', bytes)
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('identity_providers_pk', ['kind', 'name'])
          .execute();

        await table('identity_client_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('jwk', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await index('identity_client_keys_principal_idx').on('identity_client_keys').column('principal_id').execute();

        await table('identity_scim')
          .addColumn('principal_id', 'text', (c) => c.primaryKey().references('principals.id'))
          .addColumn('resource_type', 'text', (c) => c.notNull())
          .addColumn('scim_name', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text')
          .addColumn('active', 'integer', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('deleted_at', 'bigint')
          .execute();
        await index('identity_scim_name_uq').unique().on('identity_scim').columns(['resource_type', 'scim_name']).execute();

        await table('identity_scim_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('hint', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await index('identity_scim_tokens_hash_uq').unique().on('identity_scim_tokens').column('hash').execute();

        await table('identity_devices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('decided_by', 'text')
          .addColumn('decided_at', 'bigint')
          .execute();
        await index('identity_devices_principal_idx').on('identity_devices').column('principal_id').execute();
      },
    },
  };
}
