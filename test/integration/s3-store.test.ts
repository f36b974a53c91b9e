/**
 * Contract of the S3Store port (src/store/s3-store.ts), run on SQLite and on PostgreSQL
 * (COFFER_TEST_PG_URL; a database created for the run and dropped after it).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ID_PREFIX, newId } from '../../src/domain/ids.js';
import type { Artifact, ArtifactVersion, Project } from '../../src/domain/types.js';
import { openPostgresStore, openSqliteStore, type SqlMetadataStore } from '../../src/store/index.js';
import type { S3Credential, S3Upload, S3UploadPart } from '../../src/store/s3-store.js';
import { s3Migrations } from '../../src/store/sql/migrations-s3.js';
import { SqlS3Store, prefixUpperBound } from '../../src/store/sql/s3-sql-store.js';

async function freshPg(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `coffer_s3_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`).finally(() => admin.end());
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return {
    url: fresh.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`).finally(() => c.end());
    },
  };
}

/** A store on a migrated database; `another` opens a second store on the same database (as another node would). */
type Opened = { core: SqlMetadataStore; another: () => SqlMetadataStore; cleanup: () => Promise<void> };

/** A user, as every test needs one. */
async function seedPrincipal(core: SqlMetadataStore) {
  const now = Date.now();
  const principal = { id: newId(ID_PREFIX.principal), kind: 'user' as const, name: 'u', displayName: 'u', ownerId: null, disabled: false, createdAt: now };
  await core.createPrincipal(principal);
  return { now, principal };
}

/** A user and a project of theirs. */
async function seedProject(core: SqlMetadataStore) {
  const { now, principal } = await seedPrincipal(core);
  const project: Project = { id: newId(ID_PREFIX.project), name: 'p', description: '', createdBy: principal.id, createdAt: now };
  await core.createProject(project);
  return { now, principal, project };
}

function contract(name: string, open: () => Promise<Opened>): void {
  void describe(`S3Store on ${name}`, () => {
    void test('credentials, object facts, delete markers, listings, uploads and parts', async () => {
      const { core, cleanup } = await open();
      try {
        const s3 = new SqlS3Store(core.kysely, core.dialect);
        const { now, principal } = await seedPrincipal(core);
        const token = { id: newId(ID_PREFIX.token), principalId: principal.id, hash: randomBytes(32).toString('hex'), hint: 'h', description: '', createdAt: now, expiresAt: now + 3600_000, revokedAt: null, lastUsedAt: null };
        await core.createToken(token);

        const cred: S3Credential = { accessKeyId: 'CKIATESTTESTTESTTEST', principalId: principal.id, tokenId: token.id, wrappedSecret: randomBytes(80), keyTerm: 1, sessionHash: 'ab'.repeat(32), description: 'd', createdAt: now, expiresAt: now + 900_000, revokedAt: null };
        await s3.createCredential(cred);
        await assert.rejects(s3.createCredential(cred), { code: 'COFFER_ALREADY_EXISTS' });
        const got = await s3.getCredential(cred.accessKeyId);
        assert.deepEqual({ ...got!.credential, wrappedSecret: Buffer.from(got!.credential.wrappedSecret) }, { ...cred, wrappedSecret: Buffer.from(cred.wrappedSecret) });
        assert.deepEqual(got!.parent, { revokedAt: null, expiresAt: token.expiresAt });
        await core.revokeToken(token.id, now + 5);
        assert.equal((await s3.getCredential(cred.accessKeyId))!.parent!.revokedAt, now + 5);
        assert.equal(await s3.revokeCredential(cred.accessKeyId, now + 10), true);
        assert.equal(await s3.revokeCredential(cred.accessKeyId, now + 20), true);
        assert.equal((await s3.getCredential(cred.accessKeyId))!.credential.revokedAt, now + 10, 'the first revocation time is kept');
        assert.equal(await s3.revokeCredential('CKIANOPE', now), false);
        assert.equal((await s3.listCredentials(principal.id)).length, 1);
        assert.equal(await s3.purgeCredentials(now + 900_001), 1);
        assert.equal(await s3.getCredential(cred.accessKeyId), null);

        const project: Project = { id: newId(ID_PREFIX.project), name: 'p', description: '', createdBy: principal.id, createdAt: now };
        await core.createProject(project);
        const mk = async (name: string, versions: number): Promise<{ artifact: Artifact; last: ArtifactVersion | null }> => {
          const artifact: Artifact = { id: newId(ID_PREFIX.artifact), projectId: project.id, name, kind: 'other', tier: 'internal', environment: 'dev', ownerId: principal.id, labels: {}, createdAt: now };
          await core.createArtifact(artifact);
          let last: ArtifactVersion | null = null;
          for (let n = 1; n <= versions; n++) {
            last = { id: newId(ID_PREFIX.version), artifactId: artifact.id, number: n, sha256: '0'.repeat(64), size: n, mediaType: 'x', createdBy: principal.id, createdAt: now + n, blobKey: `k/${n}`, wrappedKey: randomBytes(60), keyTerm: 1 };
            await core.createVersion(last);
          }
          return { artifact, last };
        };
        const a = await mk('a/1', 2);
        const b = await mk('a/2', 1);
        await mk('a/empty', 0);
        const c = await mk('a0', 1);
        const z = await mk('b/x y', 1);
        // user metadata: values as received (latin1-decoded header bytes), a name that is a JS accessor elsewhere
        const userMetadata: Record<string, string> = Object.fromEntries([['__proto__', 'kept'], ['run-id', 'r 1, r2'], ['utf8', Buffer.from('é✓', 'utf8').toString('latin1')]]);
        await s3.putObjectMeta({ versionId: a.last!.id, etag: 'e'.repeat(32), checksums: { crc32: 'AAAAAA==' }, checksumType: 'FULL_OBJECT', partSizes: null, userMetadata });
        await s3.putObjectMeta({ versionId: b.last!.id, etag: `${'f'.repeat(32)}-2`, checksums: {}, checksumType: 'COMPOSITE', partSizes: [5, 1], userMetadata: {} });
        assert.deepEqual(await s3.getObjectMeta(b.last!.id), { versionId: b.last!.id, etag: `${'f'.repeat(32)}-2`, checksums: {}, checksumType: 'COMPOSITE', partSizes: [5, 1], userMetadata: {} });
        assert.deepEqual((await s3.getObjectMeta(a.last!.id))!.userMetadata, userMetadata, 'user metadata round-trips');
        assert.deepEqual(Object.keys((await s3.getObjectMeta(a.last!.id))!.userMetadata).sort(), ['__proto__', 'run-id', 'utf8']);

        const names = async (range: Parameters<SqlS3Store['listLatest']>[1]) => (await s3.listLatest(project.id, range)).map((r) => `${r.artifact.name}@${r.version.number}`);
        assert.deepEqual(await names({ prefix: '', limit: 100 }), ['a/1@2', 'a/2@1', 'a0@1', 'b/x y@1'], 'artifacts without versions are not objects');
        assert.deepEqual(await names({ prefix: 'a/', limit: 100 }), ['a/1@2', 'a/2@1']);
        assert.deepEqual(await names({ prefix: '', after: 'a/1', limit: 2 }), ['a/2@1', 'a0@1']);
        assert.deepEqual(await names({ prefix: '', from: prefixUpperBound('a/'), limit: 100 }), ['a0@1', 'b/x y@1']);
        assert.equal((await s3.listLatest(project.id, { prefix: 'a/1', limit: 1 }))[0]!.meta?.etag, 'e'.repeat(32));
        assert.deepEqual((await s3.listLatest(project.id, { prefix: 'a/1', limit: 1 }))[0]!.meta?.userMetadata, userMetadata);

        await s3.putDeleteMarker({ artifactId: a.artifact.id, hidesThrough: 2, createdBy: principal.id, createdAt: now });
        assert.deepEqual(await names({ prefix: 'a/', limit: 100 }), ['a/2@1']);
        await core.createVersion({ ...a.last!, id: newId(ID_PREFIX.version), number: 3 });
        assert.deepEqual(await names({ prefix: 'a/', limit: 100 }), ['a/1@3', 'a/2@1'], 'a newer version shows the key again');
        assert.equal((await s3.getDeleteMarker(a.artifact.id))!.hidesThrough, 2);
        assert.deepEqual((await s3.listArtifacts(project.id, { prefix: 'a/', limit: 10 })).map((r) => [r.artifact.name, r.marker?.hidesThrough ?? null]), [['a/1', 2], ['a/2', null], ['a/empty', null]]);
        await s3.removeDeleteMarker(a.artifact.id);
        assert.equal(await s3.getDeleteMarker(a.artifact.id), null);
        void c;
        void z;

        await s3.createUpload({ uploadId: 'mpu_1', projectId: project.id, key: 'a/1', principalId: principal.id, contentType: 'x', checksumAlgorithm: 'crc32', checksumType: 'COMPOSITE', userMetadata: { purpose: 'mp' }, createdAt: now });
        await s3.createUpload({ uploadId: 'mpu_2', projectId: project.id, key: 'b/2', principalId: principal.id, contentType: 'x', checksumAlgorithm: null, checksumType: null, userMetadata: {}, createdAt: now - 1000 });
        assert.deepEqual((await s3.getUpload('mpu_1'))?.userMetadata, { purpose: 'mp' });
        assert.deepEqual((await s3.getUpload('mpu_2'))?.userMetadata, {});
        assert.deepEqual((await s3.listStaleUploads(now + 1, 10)).map((u) => u.userMetadata), [{}, { purpose: 'mp' }]);
        assert.deepEqual((await s3.listUploads(project.id, { prefix: '', limit: 10 })).map((u) => u.uploadId), ['mpu_1', 'mpu_2']);
        assert.deepEqual((await s3.listUploads(project.id, { prefix: '', keyMarker: 'a/1', limit: 10 })).map((u) => u.uploadId), ['mpu_2']);
        assert.deepEqual((await s3.listStaleUploads(now - 500, 10)).map((u) => u.uploadId), ['mpu_2']);
        const part = { uploadId: 'mpu_1', partNumber: 2, objectId: 's3p_a', blobKey: 'b/a', wrappedKey: randomBytes(60), keyTerm: 1, size: 10, md5: 'a'.repeat(32), checksums: { crc32: 'AAAAAA==' }, createdAt: now };
        assert.equal(await s3.putPart(part), null);
        const replaced = await s3.putPart({ ...part, objectId: 's3p_b', blobKey: 'b/b' });
        assert.equal(replaced?.blobKey, 'b/a', 'the replaced part is handed back for removal');
        await s3.putPart({ ...part, partNumber: 1, objectId: 's3p_c', blobKey: 'b/c' });
        assert.deepEqual((await s3.listParts('mpu_1')).map((p) => [p.partNumber, p.blobKey]), [[1, 'b/c'], [2, 'b/b']]);
        assert.deepEqual((await s3.listParts('mpu_1', { afterPart: 1, limit: 5 })).map((p) => p.partNumber), [2]);
        // the orphaned-blob sweep asks whether a blob holds a part of an open upload
        assert.deepEqual([await s3.hasPartBlobKey('b/b'), await s3.hasPartBlobKey('b/c'), await s3.hasPartBlobKey('b/a')], [true, true, false]);
        assert.equal(await s3.deleteProjectIfEmpty(project.id), false);
        assert.deepEqual((await s3.deleteUpload('mpu_1')).map((p) => p.blobKey), ['b/c', 'b/b']);
        assert.equal(await s3.hasPartBlobKey('b/b'), false, 'a removed upload holds no blob');
        assert.equal(await s3.getUpload('mpu_1'), null);
        assert.deepEqual(await s3.listParts('mpu_1'), []);

        const empty: Project = { id: newId(ID_PREFIX.project), name: 'empty', description: '', createdBy: principal.id, createdAt: now };
        await core.createProject(empty);
        assert.equal(await s3.deleteProjectIfEmpty(empty.id), true);
        assert.equal(await core.getProjectByName('empty'), null);
      } finally {
        await cleanup();
      }
    });

    void test('part data keys: listed when not under a term, rewrapped only by a compare-and-set on term and object', async () => {
      const { core, cleanup } = await open();
      try {
        const s3 = new SqlS3Store(core.kysely, core.dialect);
        const { now, principal, project } = await seedProject(core);
        for (const uploadId of ['mpu_b', 'mpu_a', 'mpu_c']) {
          await s3.createUpload({ uploadId, projectId: project.id, key: uploadId, principalId: principal.id, contentType: 'x', checksumAlgorithm: null, checksumType: null, userMetadata: {}, createdAt: now });
        }
        const part = (uploadId: string, partNumber: number, keyTerm: number): S3UploadPart => ({
          uploadId,
          partNumber,
          objectId: `s3p_${uploadId}_${partNumber}`,
          blobKey: `b/${uploadId}/${partNumber}`,
          wrappedKey: randomBytes(60),
          keyTerm,
          size: 10 * partNumber,
          md5: String(partNumber).repeat(32),
          checksums: { crc32: 'AAAAAA==' },
          createdAt: now + partNumber,
        });
        const parts = [part('mpu_b', 1, 1), part('mpu_a', 2, 1), part('mpu_a', 1, 2), part('mpu_a', 3, 3), part('mpu_c', 1, 1), part('mpu_a', 10, 1)];
        for (const p of parts) await s3.putPart(p);
        const ids = (list: S3UploadPart[]) => list.map((p) => `${p.uploadId}/${p.partNumber}`);
        const bytes = (p: S3UploadPart | undefined) => (p === undefined ? undefined : { ...p, wrappedKey: Buffer.from(p.wrappedKey) });
        const stored = async (uploadId: string, partNumber: number) => bytes((await s3.listParts(uploadId)).find((p) => p.partNumber === partNumber));

        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 100)), ['mpu_a/2', 'mpu_a/3', 'mpu_a/10', 'mpu_b/1', 'mpu_c/1'], 'every other term, by upload then part number (numerically)');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 2)), ['mpu_a/2', 'mpu_a/3'], 'at most limit');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(1, 100)), ['mpu_a/1', 'mpu_a/3']);
        assert.deepEqual(await stored('mpu_a', 2), bytes(parts[1]), 'the listing is the part as stored');
        await assert.rejects(s3.listPartsNotUnderTerm(2, 0), { code: 'COFFER_VALIDATION_FAILED' });

        // keyset paging: strictly after (upload id, part number), in the order of the listing
        const after = (uploadId: string, partNumber: number) => ({ uploadId, partNumber });
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 100, after('mpu_a', 3))), ['mpu_a/10', 'mpu_b/1', 'mpu_c/1'], 'strictly after, part numbers numerically');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 2, after('mpu_a', 2))), ['mpu_a/3', 'mpu_a/10'], 'at most limit after the cursor');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 100, after('mpu_a', 10))), ['mpu_b/1', 'mpu_c/1'], 'on to the next uploads, from their first part');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 100, after('mpu_a', 1))), ['mpu_a/2', 'mpu_a/3', 'mpu_a/10', 'mpu_b/1', 'mpu_c/1'], 'a cursor needs not be a listed part');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 100, after('mpu_ab', 1))), ['mpu_b/1', 'mpu_c/1'], 'nor an existing upload');
        assert.deepEqual(await s3.listPartsNotUnderTerm(2, 100, after('mpu_c', 1)), [], 'nothing after the last');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(2, 100, null)), ['mpu_a/2', 'mpu_a/3', 'mpu_a/10', 'mpu_b/1', 'mpu_c/1'], 'a null cursor is the start');
        const paged: string[] = [];
        for (let cursor: S3UploadPart | null = null, calls = 0; ; calls++) {
          assert.ok(calls <= 5, 'the walk ends');
          const page = await s3.listPartsNotUnderTerm(2, 2, cursor);
          assert.ok(page.length <= 2);
          if (page.length === 0) break;
          paged.push(...ids(page));
          cursor = page.at(-1)!;
        }
        assert.deepEqual(paged, ['mpu_a/2', 'mpu_a/3', 'mpu_a/10', 'mpu_b/1', 'mpu_c/1'], 'walking with the last part as cursor lists every part once, in order');
        await assert.rejects(s3.listPartsNotUnderTerm(2, 100, after('mpu_a', 1.5)), { code: 'COFFER_VALIDATION_FAILED' });

        const a2 = parts[1]!;
        const fresh = randomBytes(61);
        assert.equal(await s3.rewrapPartKey(a2, 2, fresh, 3), false, 'a stale expected term is refused');
        assert.equal(await s3.rewrapPartKey({ ...a2, objectId: 's3p_other' }, 1, fresh, 3), false, 'another object under that number is refused');
        assert.equal(await s3.rewrapPartKey({ ...a2, partNumber: 4 }, 1, fresh, 3), false, 'a missing part is refused');
        assert.deepEqual(await stored('mpu_a', 2), bytes(a2), 'refused updates change nothing');
        assert.equal(await s3.rewrapPartKey(a2, 1, fresh, 3), true);
        assert.deepEqual(await stored('mpu_a', 2), { ...bytes(a2), wrappedKey: fresh, keyTerm: 3 }, 'only the key and its term change');
        assert.equal(await s3.rewrapPartKey(a2, 1, randomBytes(60), 4), false, 'a second update from the same listing is refused');
        assert.deepEqual(await stored('mpu_a', 2), { ...bytes(a2), wrappedKey: fresh, keyTerm: 3 });
        assert.deepEqual(await stored('mpu_a', 1), bytes(parts[2]), 'other parts of the upload are untouched');

        // a part replaced (same number, new object, same term) between the listing and the update keeps its own key
        const [listedB1] = await s3.listPartsNotUnderTerm(3, 100).then((l) => l.filter((p) => p.uploadId === 'mpu_b'));
        const replacement = { ...part('mpu_b', 1, 1), objectId: 's3p_mpu_b_1_again', blobKey: 'b/mpu_b/1/again' };
        await s3.putPart(replacement);
        assert.equal(await s3.rewrapPartKey(listedB1!, listedB1!.keyTerm, randomBytes(60), 3), false);
        assert.deepEqual(await stored('mpu_b', 1), bytes(replacement));

        // the parts of a completed or aborted upload are gone from the listing
        await s3.deleteUpload('mpu_c');
        assert.deepEqual(ids(await s3.listPartsNotUnderTerm(3, 100)), ['mpu_a/1', 'mpu_a/10', 'mpu_b/1']);
        assert.equal(await s3.rewrapPartKey(parts[4]!, 1, randomBytes(60), 3), false);
      } finally {
        await cleanup();
      }
    });

    void test('completion claims: one holder at a time, a lease, released for a retry, one winner of a race', async () => {
      const { core, another, cleanup } = await open();
      try {
        const s3 = new SqlS3Store(core.kysely, core.dialect);
        const { now, principal, project } = await seedProject(core);
        const upload = (uploadId: string): S3Upload => ({ uploadId, projectId: project.id, key: 'k', principalId: principal.id, contentType: 'x', checksumAlgorithm: null, checksumType: null, userMetadata: { k: 'v' }, createdAt: now });
        await s3.createUpload(upload('mpu_c'));

        const t = 1_000_000;
        const lease = 60_000;
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_a', t, lease), true);
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_b', t + 1, lease), false, 'a second claim while the first is live is refused');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_b', t + lease - 1, lease), false, 'the claim is live until its last millisecond');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_a', t + lease / 2, lease), true, 'the holder renews');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_b', t + lease, lease), false, 'a renewed lease runs from the renewal');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_b', t + lease / 2 + lease, lease), true, 'a claim after the lease lapsed succeeds');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_a', t + lease / 2 + lease + 1, lease), false, 'the former holder cannot renew a claim taken over');
        await s3.releaseUploadCompletion('mpu_c', 'cmp_a');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_c', t + 2 * lease, lease), false, 'a release by a former holder leaves the current claim');
        await s3.releaseUploadCompletion('mpu_c', 'cmp_b');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_c', t + 2 * lease, lease), true, 'a release lets a new claim in at once');
        assert.deepEqual(await s3.getUpload('mpu_c'), upload('mpu_c'), 'the claim is not part of the upload');
        assert.equal((await s3.listUploads(project.id, { prefix: '', limit: 10 })).length, 1);

        assert.equal(await s3.claimUploadCompletion('mpu_missing', 'cmp_a', t, lease), false, 'claiming a missing upload is refused');
        await s3.releaseUploadCompletion('mpu_missing', 'cmp_a');
        await s3.deleteUpload('mpu_c');
        assert.equal(await s3.claimUploadCompletion('mpu_c', 'cmp_d', t + 10 * lease, lease), false, 'nor a completed (deleted) upload');

        // two stores on the same database, as two nodes: of claims raced together, exactly one wins
        const otherCore = another();
        const other = new SqlS3Store(otherCore.kysely, otherCore.dialect);
        for (let i = 0; i < 20; i++) {
          const id = `mpu_race_${i}`;
          await s3.createUpload(upload(id));
          const stores = [s3, other, s3, other, s3, other];
          const won = await Promise.all(stores.map((store, j) => store.claimUploadCompletion(id, `cmp_${j}`, t, lease)));
          assert.equal(won.filter(Boolean).length, 1, `one winner of ${id}: ${won.join(',')}`);
          const winner = won.indexOf(true);
          assert.equal(await other.claimUploadCompletion(id, `cmp_${winner}`, t + 1, lease), true, 'the winner holds it, through either store');
          assert.equal(await s3.claimUploadCompletion(id, 'cmp_late', t + 1, lease), false);
        }

        // the migration reruns over itself (SQLite runs it without a transaction: a crash mid-way reruns it)
        await s3Migrations(core.dialect)['007_s3_completion_claim']!.up(core.kysely as never);
        assert.equal(await s3.claimUploadCompletion('mpu_race_0', 'cmp_0', t + 2, lease), true);
        await s3Migrations(core.dialect)['008_s3_user_metadata']!.up(core.kysely as never);
        assert.deepEqual((await s3.getUpload('mpu_race_0'))?.userMetadata, { k: 'v' }, 'a rerun of 008 keeps what is stored');
      } finally {
        await cleanup();
      }
    });
  });
}

contract('SQLite', async () => {
  // a file, so a second store can open the same database
  const dir = mkdtempSync(join(tmpdir(), 'coffer-s3-store-'));
  const path = join(dir, 'coffer.db');
  const core = openSqliteStore(path);
  await core.migrate();
  const others: SqlMetadataStore[] = [];
  return {
    core,
    another: () => {
      const o = openSqliteStore(path);
      others.push(o);
      return o;
    },
    cleanup: async () => {
      for (const o of others) await o.close();
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const pgUrl = process.env.COFFER_TEST_PG_URL;
if (pgUrl !== undefined && pgUrl !== '') {
  contract('PostgreSQL', async () => {
    const db = await freshPg(pgUrl);
    const core = openPostgresStore(db.url);
    await core.migrate();
    const others: SqlMetadataStore[] = [];
    return {
      core,
      another: () => {
        const o = openPostgresStore(db.url);
        others.push(o);
        return o;
      },
      cleanup: async () => {
        for (const o of others) await o.close();
        await core.close();
        await db.drop();
      },
    };
  });
} else {
  void test('S3Store on PostgreSQL', { skip: process.env.CI ? false : 'COFFER_TEST_PG_URL is not set' }, () => {
    assert.fail('COFFER_TEST_PG_URL is not set: CI must run the PostgreSQL contract');
  });
}

test('prefixUpperBound', () => {
  assert.equal(prefixUpperBound('a/'), 'a0');
  assert.equal(prefixUpperBound('data/shard-0'), 'data/shard-1');
  assert.equal(prefixUpperBound(''), null);
});
