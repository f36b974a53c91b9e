import { sql, type Kysely, type Selectable } from 'kysely';
import { AlreadyExistsError, StorageError, ValidationError, isCofferError, type CofferError } from '../../domain/errors.js';
import type {
  S3Checksums,
  S3CompletedUpload,
  S3Credential,
  S3CredentialRecord,
  S3PurgedVersion, S3DeleteMarker,
  S3KeyRange,
  S3ListedObject,
  S3ObjectMeta,
  S3Store,
  S3Upload,
  S3UploadPart,
  S3UserMetadata,
} from '../s3-store.js';
import type { Bytes, Database, Int8 } from './database.js';
import { classifyDbError, storageFailure } from './db-errors.js';
import type { SqlDialectName } from './migrations.js';
import { artifactFromRow, fromBuffer, toBuffer, toNumber, versionFromRow } from './rows.js';

interface S3CredentialsTable {
  access_key_id: string;
  principal_id: string;
  token_id: string;
  wrapped_secret: Bytes;
  key_term: number;
  session_hash: string;
  description: string;
  created_at: Int8;
  expires_at: Int8;
  revoked_at: Int8 | null;
}

interface S3ObjectsTable {
  version_id: string;
  etag: string;
  /** JSON object of base64 checksums. */
  checksums: string;
  checksum_type: string;
  /** JSON array of part sizes, or null. */
  part_sizes: string | null;
  /** Migration 008_s3_user_metadata: JSON object of the user-defined metadata, or null (none). */
  user_metadata: string | null;
  /** Migration 016: JSON object of the content headers, or null (none). */
  content_headers: string | null;
}

interface S3DeleteMarkersTable {
  artifact_id: string;
  hides_through: number;
  created_by: string;
  created_at: Int8;
}

interface S3UploadsTable {
  upload_id: string;
  project_id: string;
  key: string;
  principal_id: string;
  content_type: string;
  checksum_algorithm: string | null;
  checksum_type: string | null;
  created_at: Int8;
  /** Migration 007_s3_completion_claim: the id of the claim of a completion in progress, or null. */
  completion_claim: string | null;
  /** When that claim lapses (epoch ms), or null. */
  completion_expires_at: Int8 | null;
  /** Migration 008_s3_user_metadata: JSON object of the user-defined metadata, or null (none). */
  user_metadata: string | null;
  /** Migration 016: JSON object of the content headers, or null (none). */
  content_headers: string | null;
}

interface S3UploadPartsTable {
  upload_id: string;
  part_number: number;
  object_id: string;
  blob_key: string;
  wrapped_key: Bytes;
  key_term: number;
  size: Int8;
  md5: string;
  checksums: string;
  created_at: Int8;
}

/** The core schema plus the S3 tables of migration `005_s3`. */
export interface S3Database extends Database {
  s3_credentials: S3CredentialsTable;
  s3_objects: S3ObjectsTable;
  s3_delete_markers: S3DeleteMarkersTable;
  s3_uploads: S3UploadsTable;
  s3_upload_parts: S3UploadPartsTable;
  /** Migration 015_s3_purged_versions. */
  s3_purged_versions: { version_id: string; artifact_id: string; number: number; purged_by: string; purged_at: Int8 };
  s3_completed_uploads: S3CompletedUploadsTable;
}

interface S3CompletedUploadsTable {
  upload_id: string;
  project_id: string;
  key: string;
  version_id: string;
  completed_at: Int8;
}

const MAX_LIST = 1000;

/**
 * S3Store over the Kysely instance of the core SqlMetadataStore (same database, same
 * connection pool; the tables come from migrations-s3.ts). One code path for SQLite
 * and PostgreSQL.
 */
export class SqlS3Store implements S3Store {
  readonly #db: Kysely<S3Database>;
  readonly #dialect: SqlDialectName;

  /** `db` is the core store's Kysely instance (`SqlMetadataStore.kysely`); the core store owns and closes it. */
  constructor(db: Kysely<Database>, dialect: SqlDialectName) {
    this.#db = db as unknown as Kysely<S3Database>;
    this.#dialect = dialect;
  }

  // ---- credentials ----

  createCredential(c: S3Credential): Promise<void> {
    return run('create s3 credential', async () => {
      await this.#db
        .insertInto('s3_credentials')
        .values({
          access_key_id: c.accessKeyId,
          principal_id: c.principalId,
          token_id: c.tokenId,
          wrapped_secret: toBuffer(c.wrappedSecret),
          key_term: c.keyTerm,
          session_hash: c.sessionHash,
          description: c.description,
          created_at: c.createdAt,
          expires_at: c.expiresAt,
          revoked_at: c.revokedAt,
        })
        .execute();
    });
  }

  getCredential(accessKeyId: string): Promise<S3CredentialRecord | null> {
    return run('get s3 credential', async () => {
      const row = await this.#db
        .selectFrom('s3_credentials as c')
        .leftJoin('tokens as t', 't.id', 'c.token_id')
        .selectAll('c')
        .select(['t.id as parent_id', 't.revoked_at as parent_revoked_at', 't.expires_at as parent_expires_at'])
        .where('c.access_key_id', '=', accessKeyId)
        .executeTakeFirst();
      if (row === undefined) return null;
      return {
        credential: credentialFromRow(row),
        parent: row.parent_id === null ? null : { revokedAt: nullableNumber(row.parent_revoked_at), expiresAt: nullableNumber(row.parent_expires_at) },
      };
    });
  }

  listCredentials(principalId: string): Promise<S3Credential[]> {
    return run('list s3 credentials', async () => {
      const rows = await this.#db.selectFrom('s3_credentials').selectAll().where('principal_id', '=', principalId).orderBy('created_at', 'desc').limit(MAX_LIST).execute();
      return rows.map(credentialFromRow);
    });
  }

  revokeCredential(accessKeyId: string, at: number): Promise<boolean> {
    return run('revoke s3 credential', async () => {
      const existing = await this.#db.selectFrom('s3_credentials').select('revoked_at').where('access_key_id', '=', accessKeyId).executeTakeFirst();
      if (existing === undefined) return false;
      await this.#db.updateTable('s3_credentials').set({ revoked_at: at }).where('access_key_id', '=', accessKeyId).where('revoked_at', 'is', null).execute();
      return true;
    });
  }

  purgeCredentials(before: number): Promise<number> {
    return run('purge s3 credentials', async () => {
      const r = await this.#db.deleteFrom('s3_credentials').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }

  // ---- object facts ----

  putObjectMeta(m: S3ObjectMeta): Promise<void> {
    return run('put s3 object meta', async () => {
      const row = {
        version_id: m.versionId,
        etag: m.etag,
        checksums: JSON.stringify(m.checksums),
        checksum_type: m.checksumType,
        part_sizes: m.partSizes === null ? null : JSON.stringify(m.partSizes),
        user_metadata: userMetadataText(m.userMetadata),
        content_headers: userMetadataText(m.contentHeaders ?? {}),
      };
      await this.#db
        .insertInto('s3_objects')
        .values(row)
        .onConflict((oc) => oc.column('version_id').doUpdateSet({ etag: row.etag, checksums: row.checksums, checksum_type: row.checksum_type, part_sizes: row.part_sizes, user_metadata: row.user_metadata, content_headers: row.content_headers }))
        .execute();
    });
  }

  getObjectMeta(versionId: string): Promise<S3ObjectMeta | null> {
    return run('get s3 object meta', async () => {
      const row = await this.#db.selectFrom('s3_objects').selectAll().where('version_id', '=', versionId).executeTakeFirst();
      return row === undefined ? null : metaFromRow(row);
    });
  }

  deleteObjectMeta(versionId: string): Promise<void> {
    return run('delete s3 object meta', async () => {
      await this.#db.deleteFrom('s3_objects').where('version_id', '=', versionId).execute();
    });
  }

  // ---- delete markers ----

  putDeleteMarker(m: S3DeleteMarker): Promise<void> {
    return run('put s3 delete marker', async () => {
      const row = { artifact_id: m.artifactId, hides_through: m.hidesThrough, created_by: m.createdBy, created_at: m.createdAt };
      await this.#db
        .insertInto('s3_delete_markers')
        .values(row)
        .onConflict((oc) => oc.column('artifact_id').doUpdateSet({ hides_through: row.hides_through, created_by: row.created_by, created_at: row.created_at }))
        .execute();
    });
  }

  getDeleteMarker(artifactId: string): Promise<S3DeleteMarker | null> {
    return run('get s3 delete marker', async () => {
      const row = await this.#db.selectFrom('s3_delete_markers').selectAll().where('artifact_id', '=', artifactId).executeTakeFirst();
      return row === undefined ? null : markerFromRow(row);
    });
  }

  removeDeleteMarker(artifactId: string): Promise<void> {
    return run('remove s3 delete marker', async () => {
      await this.#db.deleteFrom('s3_delete_markers').where('artifact_id', '=', artifactId).execute();
    });
  }

  purgeVersion(p: S3PurgedVersion): Promise<void> {
    return run('purge s3 version', async () => {
      await this.#db
        .insertInto('s3_purged_versions')
        .values({ version_id: p.versionId, artifact_id: p.artifactId, number: p.number, purged_by: p.purgedBy, purged_at: p.purgedAt })
        .onConflict((oc) => oc.column('version_id').doNothing())
        .execute();
    });
  }

  purgedVersionNumbers(artifactId: string): Promise<Set<number>> {
    return run('list purged s3 versions', async () => {
      const rows = await this.#db.selectFrom('s3_purged_versions').select('number').where('artifact_id', '=', artifactId).execute();
      return new Set(rows.map((r) => Number(r.number)));
    });
  }

  latestUnpurgedNumber(artifactId: string): Promise<number> {
    return run('latest unpurged s3 version', async () => {
      const row = await this.#db
        .selectFrom('versions as v')
        .select((e) => e.fn.max('v.number').as('n'))
        .where('v.artifact_id', '=', artifactId)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('s3_purged_versions as p').select('p.version_id').whereRef('p.version_id', '=', 'v.id'))))
        .executeTakeFirst();
      return row?.n === null || row?.n === undefined ? 0 : Number(row.n);
    });
  }

  // ---- listing ----

  listLatest(projectId: string, range: S3KeyRange): Promise<S3ListedObject[]> {
    return run('list s3 objects', async () => {
      const limit = Math.max(1, Math.min(range.limit, MAX_LIST));
      let q = this.#db
        .selectFrom('artifacts as a')
        .innerJoin('versions as v', 'v.artifact_id', 'a.id')
        .leftJoin('s3_delete_markers as d', 'd.artifact_id', 'a.id')
        .leftJoin('s3_objects as o', 'o.version_id', 'v.id')
        .selectAll('a')
        .select([
          'v.id as v_id',
          'v.artifact_id as v_artifact_id',
          'v.number as v_number',
          'v.sha256 as v_sha256',
          'v.size as v_size',
          'v.media_type as v_media_type',
          'v.created_by as v_created_by',
          'v.created_at as v_created_at',
          'v.blob_key as v_blob_key',
          'v.wrapped_key as v_wrapped_key',
          'v.key_term as v_key_term',
          'v.scan_state as v_scan_state',
          'v.scan_flags as v_scan_flags',
          'v.scan_at as v_scan_at',
          'v.scan_claimed_until as v_scan_claimed_until',
          'v.scan_exception as v_scan_exception',
          'o.version_id as o_version_id',
          'o.etag as o_etag',
          'o.checksums as o_checksums',
          'o.checksum_type as o_checksum_type',
          'o.part_sizes as o_part_sizes',
          'o.user_metadata as o_user_metadata',
          'o.content_headers as o_content_headers',
        ])
        .where('a.project_id', '=', projectId)
        .where('v.number', '=', (eb) =>
          eb
            .selectFrom('versions as m')
            .select((e) => e.fn.max('m.number').as('n'))
            .whereRef('m.artifact_id', '=', 'a.id')
            // the newest version not purged through S3 (purgeVersion) is the current one
            .where((w) => w.not(w.exists(w.selectFrom('s3_purged_versions as p').select('p.version_id').whereRef('p.version_id', '=', 'm.id')))),
        )
        .where((eb) => eb.or([eb('d.hides_through', 'is', null), eb('d.hides_through', '<', eb.ref('v.number'))]));
      q = applyRange(q, 'a.s3_key', range);
      const rows = await q.orderBy('a.s3_key').limit(limit).execute();
      return rows.map((r) => ({
        artifact: artifactFromRow(r),
        version: versionFromRow({
          id: r.v_id,
          artifact_id: r.v_artifact_id,
          number: r.v_number,
          sha256: r.v_sha256,
          size: r.v_size,
          media_type: r.v_media_type,
          created_by: r.v_created_by,
          created_at: r.v_created_at,
          blob_key: r.v_blob_key,
          wrapped_key: r.v_wrapped_key,
          key_term: r.v_key_term,
          scan_state: r.v_scan_state,
          scan_flags: r.v_scan_flags,
          scan_at: r.v_scan_at,
          scan_claimed_until: r.v_scan_claimed_until,
          scan_exception: r.v_scan_exception,
        }),
        meta:
          r.o_version_id === null
            ? null
            : metaFromRow({
                version_id: r.o_version_id,
                etag: r.o_etag!,
                checksums: r.o_checksums!,
                checksum_type: r.o_checksum_type!,
                part_sizes: r.o_part_sizes,
                user_metadata: r.o_user_metadata,
                content_headers: r.o_content_headers,
              }),
      }));
    });
  }

  listArtifacts(projectId: string, range: S3KeyRange): Promise<Array<{ artifact: ReturnType<typeof artifactFromRow>; marker: S3DeleteMarker | null }>> {
    return run('list s3 artifacts', async () => {
      const limit = Math.max(1, Math.min(range.limit, MAX_LIST));
      let q = this.#db
        .selectFrom('artifacts as a')
        .leftJoin('s3_delete_markers as d', 'd.artifact_id', 'a.id')
        .selectAll('a')
        .select(['d.artifact_id as d_artifact_id', 'd.hides_through as d_hides_through', 'd.created_by as d_created_by', 'd.created_at as d_created_at'])
        .where('a.project_id', '=', projectId);
      q = applyRange(q, 'a.s3_key', range);
      const rows = await q.orderBy('a.s3_key').limit(limit).execute();
      return rows.map((r) => ({
        artifact: artifactFromRow(r),
        marker:
          r.d_artifact_id === null
            ? null
            : markerFromRow({ artifact_id: r.d_artifact_id, hides_through: r.d_hides_through!, created_by: r.d_created_by!, created_at: r.d_created_at! }),
      }));
    });
  }

  deleteProjectIfEmpty(projectId: string): Promise<boolean> {
    return run('delete empty project', async () => {
      try {
        return await this.#db.transaction().execute(async (trx) => {
          const artifact = await trx.selectFrom('artifacts').select('id').where('project_id', '=', projectId).limit(1).executeTakeFirst();
          const upload = await trx.selectFrom('s3_uploads').select('upload_id').where('project_id', '=', projectId).limit(1).executeTakeFirst();
          if (artifact !== undefined || upload !== undefined) return false;
          await trx.deleteFrom('s3_completed_uploads').where('project_id', '=', projectId).execute();
          await trx.deleteFrom('grants').where('scope_kind', '=', 'project').where('scope_id', '=', projectId).execute();
          const r = await trx.deleteFrom('projects').where('id', '=', projectId).executeTakeFirst();
          return Number(r.numDeletedRows) === 1;
        });
      } catch (err) {
        // rows of other features still point at the project: it is not empty
        if (!isCofferError(err) && classifyDbError(err).kind === 'foreign-key') return false;
        throw err;
      }
    });
  }

  // ---- multipart uploads ----

  createUpload(u: S3Upload): Promise<void> {
    return run('create s3 upload', async () => {
      await this.#db
        .insertInto('s3_uploads')
        .values({
          upload_id: u.uploadId,
          project_id: u.projectId,
          key: u.key,
          principal_id: u.principalId,
          content_type: u.contentType,
          checksum_algorithm: u.checksumAlgorithm,
          checksum_type: u.checksumType,
          created_at: u.createdAt,
          completion_claim: null,
          completion_expires_at: null,
          user_metadata: userMetadataText(u.userMetadata),
          content_headers: userMetadataText(u.contentHeaders ?? {}),
        })
        .execute();
    });
  }

  getUpload(uploadId: string): Promise<S3Upload | null> {
    return run('get s3 upload', async () => {
      const row = await this.#db.selectFrom('s3_uploads').selectAll().where('upload_id', '=', uploadId).executeTakeFirst();
      return row === undefined ? null : uploadFromRow(row);
    });
  }

  listUploads(projectId: string, options: { prefix: string; keyMarker?: string | null; uploadIdMarker?: string | null; limit: number }): Promise<S3Upload[]> {
    return run('list s3 uploads', async () => {
      const limit = Math.max(1, Math.min(options.limit, MAX_LIST));
      let q = this.#db.selectFrom('s3_uploads').selectAll().where('project_id', '=', projectId);
      q = applyRange(q, 'key', { prefix: options.prefix, limit });
      const keyMarker = options.keyMarker ?? null;
      if (keyMarker !== null && keyMarker !== '') {
        const idMarker = options.uploadIdMarker ?? null;
        q =
          idMarker === null || idMarker === ''
            ? q.where('key', '>', keyMarker)
            : q.where((eb) => eb.or([eb('key', '>', keyMarker), eb.and([eb('key', '=', keyMarker), eb('upload_id', '>', idMarker)])]));
      }
      const rows = await q.orderBy('key').orderBy('upload_id').limit(limit).execute();
      return rows.map(uploadFromRow);
    });
  }

  putPart(p: S3UploadPart): Promise<S3UploadPart | null> {
    return run('put s3 part', async () => {
      return this.#db.transaction().execute(async (trx) => {
        const previous = await trx.selectFrom('s3_upload_parts').selectAll().where('upload_id', '=', p.uploadId).where('part_number', '=', p.partNumber).executeTakeFirst();
        if (previous !== undefined) {
          await trx.deleteFrom('s3_upload_parts').where('upload_id', '=', p.uploadId).where('part_number', '=', p.partNumber).execute();
        }
        await trx
          .insertInto('s3_upload_parts')
          .values({
            upload_id: p.uploadId,
            part_number: p.partNumber,
            object_id: p.objectId,
            blob_key: p.blobKey,
            wrapped_key: toBuffer(p.wrappedKey),
            key_term: p.keyTerm,
            size: p.size,
            md5: p.md5,
            checksums: JSON.stringify(p.checksums),
            created_at: p.createdAt,
          })
          .execute();
        return previous === undefined ? null : partFromRow(previous);
      });
    });
  }

  listParts(uploadId: string, options: { afterPart?: number; limit?: number } = {}): Promise<S3UploadPart[]> {
    return run('list s3 parts', async () => {
      let q = this.#db.selectFrom('s3_upload_parts').selectAll().where('upload_id', '=', uploadId);
      if (options.afterPart !== undefined) q = q.where('part_number', '>', options.afterPart);
      q = q.orderBy('part_number');
      // Complete reads all parts (up to 10,000 small rows); listings page
      if (options.limit !== undefined) q = q.limit(Math.max(1, Math.min(options.limit, MAX_LIST)));
      const rows = await q.execute();
      return rows.map(partFromRow);
    });
  }

  listPartsNotUnderTerm(term: number, limit: number, after: Pick<S3UploadPart, 'uploadId' | 'partNumber'> | null = null): Promise<S3UploadPart[]> {
    return run('list s3 parts to rewrap', async () => {
      if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limit must be a positive integer');
      if (after !== null && !Number.isSafeInteger(after.partNumber)) throw new ValidationError('part number must be an integer');
      let q = this.#db.selectFrom('s3_upload_parts').selectAll().where('key_term', '<>', term);
      // keyset paging on the primary key (upload_id, part_number): a row-value comparison, in the order of the listing
      if (after !== null) q = q.where((eb) => eb(eb.refTuple('upload_id', 'part_number'), '>', eb.tuple(after.uploadId, after.partNumber)));
      const rows = await q.orderBy('upload_id').orderBy('part_number').limit(Math.min(limit, MAX_LIST)).execute();
      return rows.map(partFromRow);
    });
  }

  rewrapPartKey(part: Pick<S3UploadPart, 'uploadId' | 'partNumber' | 'objectId'>, expectedTerm: number, wrappedKey: Uint8Array, term: number): Promise<boolean> {
    return run('rewrap s3 part key', async () => {
      const r = await this.#db
        .updateTable('s3_upload_parts')
        .set({ wrapped_key: toBuffer(wrappedKey), key_term: term })
        .where('upload_id', '=', part.uploadId)
        .where('part_number', '=', part.partNumber)
        // a part replaced since it was listed (same number, new object) keeps its own key
        .where('object_id', '=', part.objectId)
        .where('key_term', '=', expectedTerm)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  hasPartBlobKey(blobKey: string): Promise<boolean> {
    return run('find s3 part by blob key', async () => {
      const row = await this.#db.selectFrom('s3_upload_parts').select('part_number').where('blob_key', '=', blobKey).limit(1).executeTakeFirst();
      return row !== undefined;
    });
  }

  deleteUpload(uploadId: string): Promise<S3UploadPart[]> {
    return run('delete s3 upload', async () => {
      return this.#db.transaction().execute(async (trx) => {
        const parts = await trx.selectFrom('s3_upload_parts').selectAll().where('upload_id', '=', uploadId).orderBy('part_number').execute();
        await trx.deleteFrom('s3_upload_parts').where('upload_id', '=', uploadId).execute();
        await trx.deleteFrom('s3_uploads').where('upload_id', '=', uploadId).execute();
        return parts.map(partFromRow);
      });
    });
  }

  putCompletedUpload(c: S3CompletedUpload): Promise<void> {
    return run('put s3 completed upload', async () => {
      await this.#db
        .insertInto('s3_completed_uploads')
        .values({ upload_id: c.uploadId, project_id: c.projectId, key: c.key, version_id: c.versionId, completed_at: c.completedAt })
        .onConflict((oc) => oc.column('upload_id').doNothing())
        .execute();
    });
  }

  getCompletedUpload(uploadId: string): Promise<S3CompletedUpload | null> {
    return run('get s3 completed upload', async () => {
      const r = await this.#db.selectFrom('s3_completed_uploads').selectAll().where('upload_id', '=', uploadId).executeTakeFirst();
      return r === undefined ? null : { uploadId: r.upload_id, projectId: r.project_id, key: r.key, versionId: r.version_id, completedAt: toNumber(r.completed_at) };
    });
  }

  purgeCompletedUploads(before: number): Promise<number> {
    return run('purge s3 completed uploads', async () => {
      const r = await this.#db.deleteFrom('s3_completed_uploads').where('completed_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }

  claimUploadCompletion(uploadId: string, claimId: string, now: number, leaseMs: number): Promise<boolean> {
    return run('claim s3 upload completion', async () => {
      // one statement: PostgreSQL re-checks the WHERE on the row a concurrent claim just
      // updated (READ COMMITTED), SQLite has one writer; either way a single claimant wins
      const r = await this.#db
        .updateTable('s3_uploads')
        .set({ completion_claim: claimId, completion_expires_at: now + leaseMs })
        .where('upload_id', '=', uploadId)
        .where((eb) => eb.or([eb('completion_claim', 'is', null), eb('completion_claim', '=', claimId), eb('completion_expires_at', '<=', now)]))
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  releaseUploadCompletion(uploadId: string, claimId: string): Promise<void> {
    return run('release s3 upload completion', async () => {
      await this.#db
        .updateTable('s3_uploads')
        .set({ completion_claim: null, completion_expires_at: null })
        .where('upload_id', '=', uploadId)
        .where('completion_claim', '=', claimId)
        .execute();
    });
  }

  listStaleUploads(before: number, limit: number): Promise<S3Upload[]> {
    return run('list stale s3 uploads', async () => {
      const rows = await this.#db
        .selectFrom('s3_uploads')
        .selectAll()
        .where('created_at', '<', before)
        .orderBy('created_at')
        .limit(Math.max(1, Math.min(limit, MAX_LIST)))
        .execute();
      return rows.map(uploadFromRow);
    });
  }

  /** The dialect underneath (tests). */
  get dialect(): SqlDialectName {
    return this.#dialect;
  }
}

/** Restricts a query to names with `prefix`, after `after` and from `from`, bytewise. */
function applyRange<Q extends { where: (...args: never[]) => unknown }>(query: Q, column: string, range: S3KeyRange): Q {
  let q = query as unknown as { where: (c: unknown, op: string, v: unknown) => typeof q };
  if (range.prefix !== '') {
    q = q.where(sql.ref(column), '>=', range.prefix);
    const upper = prefixUpperBound(range.prefix);
    if (upper !== null) q = q.where(sql.ref(column), '<', upper);
  }
  if (range.after !== undefined && range.after !== null) q = q.where(sql.ref(column), '>', range.after);
  if (range.from !== undefined && range.from !== null) q = q.where(sql.ref(column), '>=', range.from);
  return q as unknown as Q;
}

/**
 * The smallest string greater than every string starting with `prefix` in UTF-8 byte
 * order (its last code point incremented, skipping the surrogate range), or null if
 * there is none. UTF-8 byte order is code point order, which both dialects compare keys in.
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix);
  for (let i = points.length - 1; i >= 0; i--) {
    const code = points[i]!.codePointAt(0)!;
    if (code >= 0x10ffff) continue;
    const next = code + 1 === 0xd800 ? 0xe000 : code + 1;
    return points.slice(0, i).join('') + String.fromCodePoint(next);
  }
  return null;
}

async function run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(err, operation);
  }
}

function translate(err: unknown, operation: string): CofferError {
  if (isCofferError(err)) return err;
  const failure = classifyDbError(err);
  if (failure.kind === 'unique') return new AlreadyExistsError(undefined, { detail: `s3 store: ${operation}: ${failure.target}` });
  if (failure.kind === 'foreign-key') return new StorageError(undefined, { detail: `s3 store: ${operation}: foreign key: ${failure.target}`, cause: err });
  return storageFailure(failure, `s3 store: ${operation}`, err);
}

function nullableNumber(v: number | string | bigint | null): number | null {
  return v === null ? null : toNumber(v);
}

function credentialFromRow(r: Selectable<S3CredentialsTable>): S3Credential {
  return {
    accessKeyId: r.access_key_id,
    principalId: r.principal_id,
    tokenId: r.token_id,
    wrappedSecret: fromBuffer(r.wrapped_secret),
    keyTerm: toNumber(r.key_term),
    sessionHash: r.session_hash,
    description: r.description,
    createdAt: toNumber(r.created_at),
    expiresAt: toNumber(r.expires_at),
    revokedAt: nullableNumber(r.revoked_at),
  };
}

function metaFromRow(r: Selectable<S3ObjectsTable>): S3ObjectMeta {
  return {
    versionId: r.version_id,
    etag: r.etag,
    checksums: parseChecksums(r.checksums),
    checksumType: r.checksum_type === 'COMPOSITE' ? 'COMPOSITE' : 'FULL_OBJECT',
    partSizes: r.part_sizes === null ? null : (JSON.parse(r.part_sizes) as number[]),
    userMetadata: parseUserMetadata(r.user_metadata),
    contentHeaders: parseUserMetadata(r.content_headers),
  };
}

function markerFromRow(r: Selectable<S3DeleteMarkersTable>): S3DeleteMarker {
  return { artifactId: r.artifact_id, hidesThrough: toNumber(r.hides_through), createdBy: r.created_by, createdAt: toNumber(r.created_at) };
}

function uploadFromRow(r: Selectable<S3UploadsTable>): S3Upload {
  return {
    uploadId: r.upload_id,
    projectId: r.project_id,
    key: r.key,
    principalId: r.principal_id,
    contentType: r.content_type,
    checksumAlgorithm: (r.checksum_algorithm as S3Upload['checksumAlgorithm']) ?? null,
    checksumType: (r.checksum_type as S3Upload['checksumType']) ?? null,
    userMetadata: parseUserMetadata(r.user_metadata),
    contentHeaders: parseUserMetadata(r.content_headers),
    createdAt: toNumber(r.created_at),
  };
}

function partFromRow(r: Selectable<S3UploadPartsTable>): S3UploadPart {
  return {
    uploadId: r.upload_id,
    partNumber: toNumber(r.part_number),
    objectId: r.object_id,
    blobKey: r.blob_key,
    wrappedKey: fromBuffer(r.wrapped_key),
    keyTerm: toNumber(r.key_term),
    size: toNumber(r.size),
    md5: r.md5,
    checksums: parseChecksums(r.checksums),
    createdAt: toNumber(r.created_at),
  };
}

function parseChecksums(text: string): S3Checksums {
  const parsed = JSON.parse(text) as unknown;
  return typeof parsed === 'object' && parsed !== null ? (parsed) : {};
}

/** The user_metadata column of a metadata object: JSON, or null when there is none. */
function userMetadataText(m: S3UserMetadata): string | null {
  return Object.keys(m).length === 0 ? null : JSON.stringify(m);
}

/** User metadata from its column: null (none, or a row older than migration 008) is `{}`; only string values are kept. */
function parseUserMetadata(text: string | null): S3UserMetadata {
  if (text === null || text === '') return {};
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  // fromEntries defines own properties, so a name such as `__proto__` survives
  return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
