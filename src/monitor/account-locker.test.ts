import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { AuditEvent } from '../audit/audit-event.js';
import { AccountLockedError } from '../domain/errors.js';
import type { ApiToken, Principal } from '../domain/types.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import { MonitorSqlStore } from '../store/sql/monitor-sql-store.js';
import { AccountLocker } from './account-locker.js';
import { alertOf } from './alert-record.js';
import type { Finding } from './finding.js';
import { InflightDownloads } from './inflight-downloads.js';
import { CredentialLineage, totalRevoked } from '../identity/credential-lineage.js';
import { SqlCredentialStore } from '../store/sql/credential-sql-store.js';

const user = (id: string, name: string): Principal => ({ id, kind: 'user', name, displayName: name, ownerId: null, disabled: false, createdAt: 1 });
const token = (id: string, principalId: string): ApiToken => ({ id, principalId, hash: id.padEnd(64, '0'), hint: 'h', description: '', createdAt: 1, expiresAt: null, revokedAt: null, lastUsedAt: null });
const finding = (principalKey: string): Finding => ({ rule: 'volume', principalKey, principalName: 'dana', severity: 'critical', time: 5, triggerSeq: 9, summary: 'bulk download', evidence: [8, 9], measures: {} });

async function setup() {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  const monitorStore = new MonitorSqlStore(store.kysely, store.dialect);
  const admins: Principal = { ...user('prn_admins', 'admins'), kind: 'group' };
  for (const p of [admins, user('prn_olga', 'olga'), user('prn_dana', 'dana')]) await store.createPrincipal(p);
  await store.addMember('prn_admins', 'prn_olga');
  const lineage = new CredentialLineage(new SqlCredentialStore(store.kysely, store.dialect), { mintedCredentialMaxTtlSeconds: 0 });
  for (const id of ['tok_1', 'tok_2']) {
    await lineage.root({ id, kind: 'api-token', principalId: 'prn_dana', origin: 'setup-token', methods: { token: 1 }, createdAt: 1, expiresAt: null });
    await store.createToken(token(id, 'prn_dana'));
  }
  // a token of another principal minted by one of dana's: it rests on dana's credential and ends with it
  await lineage.mint({ id: 'tok_3', kind: 'api-token', principalId: 'prn_olga', parentId: 'tok_2', origin: 'issue', methods: { token: 1 }, createdAt: 2, expiresAt: null });
  await store.createToken(token('tok_3', 'prn_olga'));
  const audited: AuditEvent[] = [];
  const inflight = new InflightDownloads();
  const locker = new AccountLocker({
    store,
    monitorStore,
    inflight,
    audit: { record: (e) => Promise.resolve({ seq: audited.push(e) }) },
    clock: () => 1000,
    warn: () => undefined,
    revokeCredentials: async (id, at, reason) => totalRevoked(await lineage.revokePrincipal(id, at, reason)),
  });
  return { store, monitorStore, audited, inflight, locker };
}

void test('a lock disables the principal, revokes its credentials and those minted from them, cuts its downloads and is recorded', async () => {
  const { store, monitorStore, audited, inflight, locker } = await setup();
  try {
    const mine = new PassThrough();
    const other = new PassThrough();
    inflight.open('prn_dana').attach(mine);
    inflight.open('prn_olga').attach(other);
    // a download whose attempt is being recorded: no stream yet (the lock may be triggered by that very record)
    const starting = inflight.open('prn_dana');
    const errors: unknown[] = [];
    mine.on('error', (e) => errors.push(e));
    const lock = await locker.lock(alertOf(finding('prn_dana'), 'lock', 1000));
    assert.ok(lock);
    assert.equal((await store.getPrincipal('prn_dana'))?.disabled, true);
    assert.deepEqual((await store.listTokens('prn_dana')).map((t) => t.revokedAt), [1000, 1000]);
    assert.deepEqual((await store.listTokens('prn_olga')).map((t) => t.revokedAt), [1000], 'a descendant held by someone else ends too');
    assert.equal(lock.tokensRevoked, 3);
    assert.equal(lock.downloadsAborted, 2);
    await new Promise((r) => setImmediate(r));
    assert.ok(errors[0] instanceof AccountLockedError);
    assert.equal(mine.destroyed, true);
    assert.equal(other.destroyed, false, 'other principals\' downloads go on');
    // the download that had not started yet is refused when it tries to, and its stream is cut at once
    assert.throws(() => starting.throwIfCut(), AccountLockedError);
    const late = new PassThrough();
    late.on('error', (e) => errors.push(e));
    starting.attach(late);
    await new Promise((r) => setImmediate(r));
    assert.equal(late.destroyed, true);
    assert.ok(errors[1] instanceof AccountLockedError);
    assert.equal(inflight.count('prn_dana'), 0);
    assert.deepEqual((await monitorStore.listOpenLocks()).map((l) => l.principalName), ['dana']);
    assert.equal(audited[0]?.action, 'monitor-lock');
    assert.equal(audited[0]?.resource, 'principal/dana');
    assert.equal(audited[0]?.actor?.kind, 'system');
  } finally {
    await store.close();
  }
});

void test('the last enabled administrator is never locked; unauthenticated sources and groups neither', async () => {
  const { store, monitorStore, locker } = await setup();
  try {
    assert.equal(await locker.lock(alertOf({ ...finding('prn_olga'), principalName: 'olga' }, 'lock', 1000)), null);
    assert.equal((await store.getPrincipal('prn_olga'))?.disabled, false);
    assert.equal(await locker.lock(alertOf(finding('ip:203.0.113.9'), 'lock', 1000)), null);
    assert.equal(await locker.lock(alertOf(finding('prn_admins'), 'lock', 1000)), null);
    assert.deepEqual(await monitorStore.listOpenLocks(), []);
    // with a second administrator, the first one can be locked
    await store.createPrincipal(user('prn_pat', 'pat'));
    await store.addMember('prn_admins', 'prn_pat');
    assert.ok(await locker.lock(alertOf({ ...finding('prn_olga'), principalName: 'olga' }, 'lock', 1000)));
  } finally {
    await store.close();
  }
});
