/**
 * The credential lineage itself, on SQLite and PostgreSQL (issue 11, findings 2 and 4,
 * beyond their instances): chains of minting (session -> token -> token -> S3 key),
 * revoking a middle link (descendants end, ancestors and siblings do not, whoever holds
 * them), a parent that is missing, the depth limit, revocation racing minting, and
 * credentials older than the lineage table (the migration).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Migrator, sql } from 'kysely';
import { TokenRevokedError, ValidationError } from '../../src/domain/errors.js';
import type { Principal } from '../../src/domain/types.js';
import { CredentialLineage } from '../../src/identity/credential-lineage.js';
import { openPostgresStore, openSqliteStore } from '../../src/store/index.js';
import type { SqlMetadataStore } from '../../src/store/index.js';
import { MAX_LINEAGE_DEPTH } from '../../src/store/credential-store.js';
import type { CredentialKind } from '../../src/store/credential-store.js';
import { SqlCredentialStore } from '../../src/store/sql/credential-sql-store.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrations } from '../../src/store/sql/migrations.js';
import { DIALECTS } from './dialects.js';
import type { TestDatabase } from './dialects.js';
import { join } from 'node:path';

const NOW = Date.UTC(2030, 0, 1);
const alice: Principal = { id: 'prn_alice', kind: 'user', name: 'alice', displayName: 'Alice', ownerId: null, disabled: false, createdAt: 1 };
const bot: Principal = { id: 'prn_bot', kind: 'service-account', name: 'bot', displayName: 'Bot', ownerId: 'prn_alice', disabled: false, createdAt: 1 };

function openCore(db: TestDatabase): SqlMetadataStore {
  return db.url === null ? openSqliteStore(join(db.dir, 'coffer.db')) : openPostgresStore(db.url);
}

for (const dialect of DIALECTS) {
  void describe(`credential lineage: chains and revocation (${dialect.name})`, { skip: dialect.skip, timeout: 120_000 }, () => {
    let db: TestDatabase;
    let core: SqlMetadataStore;
    let lineage: CredentialLineage;
    before(async () => {
      db = await dialect.open();
      core = openCore(db);
      await core.migrate();
      for (const p of [alice, bot]) await core.createPrincipal(p);
      lineage = new CredentialLineage(new SqlCredentialStore(core.kysely, core.dialect), { mintedCredentialMaxTtlSeconds: 0 });
    });
    after(async () => {
      await core.close();
      await db.drop();
    });

    let n = 0;
    const id = (prefix: string) => `${prefix}_${++n}`;
    const root = async () => (await lineage.root({ id: id('ses'), kind: 'session', principalId: alice.id, origin: 'login', methods: { password: NOW }, createdAt: NOW, expiresAt: NOW + 3600_000 })).id;
    const child = async (parentId: string, kind: CredentialKind = 'api-token', principalId = alice.id) => {
      const terms = await lineage.terms(parentId, NOW, principalId);
      return (await lineage.mint({ id: id(kind === 's3-key' ? 'CKIA' : 'tok'), kind, principalId, parentId, origin: 'mint', methods: terms.methods, createdAt: NOW, expiresAt: terms.latestExpiry })).id;
    };
    const alive = async (credentialId: string) => lineage.check(credentialId, NOW).then(() => true, (err: unknown) => {
      if (err instanceof TokenRevokedError) return false;
      throw err;
    });

    test('revoking a middle link ends its descendants only, whoever holds them', async () => {
      const session = await root();
      const t1 = await child(session);
      const t2 = await child(t1);
      const sibling = await child(t1);
      const key = await child(t2, 's3-key');
      const forBot = await child(t2, 'api-token', bot.id);
      const other = await child(session);
      assert.deepEqual((await lineage.store.chain(key)).map((c) => c.id), [key, t2, t1, session], 'nearest first');
      const counts = await lineage.revoke({ ids: [t2] }, NOW + 1, 'revoked');
      assert.deepEqual(counts, { session: 0, 'api-token': 2, 's3-key': 1 });
      for (const dead of [t2, key, forBot]) assert.equal(await alive(dead), false, dead);
      for (const live of [session, t1, sibling, other]) assert.equal(await alive(live), true, live);
      // revoking again counts nothing and keeps the first revocation
      assert.deepEqual(await lineage.revoke({ ids: [t2] }, NOW + 9, 'again'), { session: 0, 'api-token': 0, 's3-key': 0 });
      assert.equal((await lineage.store.get(key))?.revokedAt, NOW + 1);
    });

    test('a credential is refused when an ancestor is revoked even if the cascade missed it (minted concurrently)', async () => {
      const session = await root();
      const t1 = await child(session);
      // a child row written straight to the store, as if its insert raced the cascade
      await lineage.store.create({ id: 'tok_raced', kind: 'api-token', principalId: alice.id, parentId: t1, origin: 'mint', methods: {}, createdAt: NOW, expiresAt: null, revokedAt: null, revokeReason: null });
      await core.kysely.updateTable('credentials' as never).set({ revoked_at: NOW } as never).where('id' as never, '=', t1 as never).execute();
      assert.equal(await alive('tok_raced'), false);
    });

    test('a missing parent is a dead parent (fail closed)', async () => {
      // the store refuses a child of a missing parent; a row whose parent row was deleted since is written directly
      await assert.rejects(lineage.store.create({ id: 'tok_orphan', kind: 'api-token', principalId: alice.id, parentId: 'ses_gone', origin: 'mint', methods: { token: NOW }, createdAt: NOW, expiresAt: null, revokedAt: null, revokeReason: null }), TokenRevokedError);
      await sql`insert into credentials (id, kind, principal_id, parent_id, origin, methods, created_at, expires_at, revoked_at, revoke_reason) values ('tok_orphan', 'api-token', 'prn_alice', 'ses_gone', 'mint', '{"token":1}', ${NOW}, null, null, null)`.execute(core.kysely);
      await assert.rejects(lineage.check('tok_orphan', NOW), TokenRevokedError);
      await assert.rejects(lineage.terms('tok_orphan', NOW, alice.id), TokenRevokedError, 'nothing can be minted from it either');
    });

    test('chains are bounded: minting deeper than the limit is refused, clearly', async () => {
      let last = await root();
      for (let i = 1; i < MAX_LINEAGE_DEPTH; i++) last = await child(last);
      assert.equal(await alive(last), true, `a chain of ${MAX_LINEAGE_DEPTH} links is checked whole`);
      await assert.rejects(child(last), ValidationError);
    });

    test('a minted credential never outlives its parent, nor carries more than it', async () => {
      const session = await root();
      const terms = await lineage.terms(session, NOW, alice.id);
      assert.equal(terms.latestExpiry, NOW + 3600_000);
      assert.deepEqual(terms.methods, { password: NOW });
      // across principals, a person's factors do not pass
      const up = await lineage.root({ id: id('ses'), kind: 'session', principalId: alice.id, origin: 'login', methods: { password: NOW, webauthn: NOW }, createdAt: NOW, expiresAt: null });
      assert.deepEqual((await lineage.terms(up.id, NOW, bot.id)).methods, {});
      const boot = await lineage.root({ id: id('tok'), kind: 'api-token', principalId: alice.id, origin: 'setup-token', methods: { token: NOW }, createdAt: NOW, expiresAt: null });
      assert.deepEqual((await lineage.terms(boot.id, NOW, bot.id)).methods, { token: NOW }, 'machine methods do');
      const longer = new CredentialLineage(lineage.store, { mintedCredentialMaxTtlSeconds: 86_400 });
      assert.equal((await longer.terms(session, NOW, alice.id)).latestExpiry, NOW + 86_400_000, 'only where configured');
    });

    test('revoking a principal spares the caller\'s own chain, ends the rest and what it minted for others', async () => {
      const a = await root();
      const b = await root();
      const fromA = await child(a);
      const mine = await child(fromA);
      const fromB = await child(b, 'api-token', bot.id);
      await lineage.revokePrincipal(alice.id, NOW + 2, 'password-changed', mine);
      assert.equal(await alive(mine), true);
      assert.equal(await alive(fromA), true);
      assert.equal(await alive(a), true);
      assert.equal(await alive(b), false);
      assert.equal(await alive(fromB), false, 'bot\'s token rested on alice\'s other session');
      // and without exception, everything
      await lineage.revokePrincipal(alice.id, NOW + 3, 'disabled');
      assert.equal(await alive(mine), false);
    });

    test('revocation racing minting: no child of a revoked parent stays usable', async () => {
      for (let round = 0; round < 5; round++) {
        const parent = await root();
        const minted = Array.from({ length: 20 }, () => child(parent).catch(() => null));
        const revoked = lineage.revoke({ ids: [parent] }, NOW + 5, 'logout');
        const ids = (await Promise.all([...minted, revoked.then(() => null)])).filter((x): x is string => x !== null);
        for (const c of ids) assert.equal(await alive(c), false, `round ${round}: ${c}`);
        // and the listing says so too (the cascade or the re-check after minting caught each)
        const rows = await lineage.list(alice.id);
        for (const c of ids) assert.notEqual(rows.find((r) => r.id === c)?.revokedAt, null, `listed as revoked: ${c}`);
      }
    });
  });

  void describe(`credential lineage: credentials older than the table (${dialect.name})`, { skip: dialect.skip, timeout: 120_000 }, () => {
    test('the migration enters them: tokens as `token`, sessions with their methods, S3 keys under their parent with no method', async () => {
      const db = await dialect.open();
      const core = openCore(db);
      try {
        const all = migrations(core.dialect);
        const migrator = new Migrator({ db: core.kysely, provider: { getMigrations: () => Promise.resolve(all) }, migrationTableName: MIGRATION_TABLE, migrationLockTableName: MIGRATION_LOCK_TABLE });
        const before = await migrator.migrateTo('008_s3_user_metadata');
        assert.equal(before.error, undefined);
        await core.createPrincipal(alice);
        await sql`insert into tokens (id, principal_id, hash, hint, description, created_at, expires_at, revoked_at, last_used_at) values ('tok_old', 'prn_alice', ${'a'.repeat(64)}, 'h', '', 5, null, null, null)`.execute(core.kysely);
        await sql`insert into identity_sessions (id, principal_id, kind, methods, created_at, expires_at, revoked_at, revoke_reason, source_ip, user_agent) values ('ses_old', 'prn_alice', 'interactive', '{"password":7}', 7, ${NOW}, null, null, '127.0.0.1', 'ua')`.execute(core.kysely);
        for (const [key, parent] of [['CKIAOLDSESSION', 'session:ses_old'], ['CKIAOLDTOKEN', 'tok_old']]) {
          await sql`insert into s3_credentials (access_key_id, principal_id, token_id, wrapped_secret, key_term, session_hash, description, created_at, expires_at, revoked_at) values (${key}, 'prn_alice', ${parent}, ${Buffer.alloc(8)}, 1, ${'b'.repeat(64)}, '', 9, ${NOW}, null)`.execute(core.kysely);
        }
        await core.migrate();
        await core.migrate(); // idempotent
        const l = new CredentialLineage(new SqlCredentialStore(core.kysely, core.dialect), { mintedCredentialMaxTtlSeconds: 0 });
        const token = await l.check('tok_old', NOW - 1);
        assert.deepEqual([token.origin, token.methods, token.parentId], ['pre-lineage', { token: 5 }, null]);
        assert.deepEqual((await l.check('ses_old', NOW - 1)).methods, { password: 7 });
        const s3 = await l.check('CKIAOLDSESSION', NOW - 1);
        assert.deepEqual([s3.parentId, s3.methods], ['ses_old', {}]);
        assert.equal((await l.check('CKIAOLDTOKEN', NOW - 1)).parentId, 'tok_old');
        await l.revoke({ ids: ['ses_old'] }, NOW - 1, 'logout');
        await assert.rejects(l.check('CKIAOLDSESSION', NOW - 1), TokenRevokedError, 'an old S3 key ends with its old session');
      } finally {
        await core.close();
        await db.drop();
      }
    });
  });
}
