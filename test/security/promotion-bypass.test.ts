/**
 * Attack (issue 11.13, promotion bypass): a project owner reaches prod without a
 * promotion. Seen: creating an artifact directly in `prod` and pushing into it, and an S3
 * delete marker over a version that reached prod. Tried here through every way a version
 * comes to be in prod or a prod version is hidden: REST create and push, S3 PutObject
 * (the artifact created by the first PUT included), CopyObject, multipart, DeleteObject
 * and DeleteObjects. Each is refused (COFFER_PROMOTION_REQUIRED / AccessDenied) and
 * recorded, unless a policy explicitly permits `bypass-promotion`; the promotion path
 * itself still works. Real server, real AWS SDK client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { sdkClient, s3Error } from '../integration/s3-client-helpers.js';
import { startS3Harness, type S3Harness } from '../integration/s3-harness.js';

/** The fields of the answers read here (each answer has some of them). */
interface Answer {
  error: { code: string; message: string };
  id: string;
  versions: unknown[];
  allowed: boolean;
  notes: string[];
}

void describe('prod is reached only through a promotion', () => {
  let h: S3Harness;
  let olivia: string;
  let dana: string;
  let s3: S3Client;
  let projectId: string;
  let oliviaId: string;

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Answer };
  };
  const push = async (token: string, artifact: string, bytes: Buffer) => {
    const res = await fetch(`${h.url}/v1/projects/vision/artifacts/${encodeURIComponent(artifact)}/versions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: bytes });
    return { status: res.status, json: (await res.json()) as Answer };
  };
  const promote = (artifact: string, version: number, to: string) => api(olivia, 'POST', '/v1/promotions', { project: 'vision', artifact, version, to, justification: 'eval passed' });
  const applyPolicies = (text: string) => api(h.adminToken, 'POST', '/v1/policy/apply', { sources: [{ name: 'release.cedar', text }], message: 'release process' });
  const records = async (pred: (r: Awaited<ReturnType<S3Harness['audit']>>[number]['body']) => boolean) => (await h.audit()).map((r) => r.body).filter(pred);

  before(async () => {
    h = await startS3Harness({ flags: { promotionApprovalsProd: 0 } });
    olivia = await h.user('olivia');
    dana = await h.user('dana');
    projectId = (await api(h.adminToken, 'POST', '/v1/projects', { name: 'vision' })).json.id;
    await api(h.adminToken, 'POST', '/v1/grants', { principal: 'olivia', role: 'owner', project: 'vision' });
    await api(h.adminToken, 'POST', '/v1/grants', { principal: 'dana', role: 'writer', project: 'vision' });
    oliviaId = (await api(olivia, 'GET', '/v1/whoami')).json.id;
    s3 = sdkClient(h.s3Url, await h.credentials(olivia));
    // models/det@1 reaches prod the legitimate way: dev -> staging -> prod
    assert.equal((await api(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/det', kind: 'model', tier: 'internal', environment: 'dev' })).status, 201);
    assert.equal((await push(olivia, 'models/det', randomBytes(1000))).status, 201);
    assert.equal((await promote('models/det', 1, 'staging')).status, 201);
    assert.equal((await promote('models/det', 1, 'prod')).status, 201, 'promotion still reaches prod');
  });
  after(async () => {
    s3?.destroy();
    await h?.close();
  });

  void it('REST: a project owner cannot create an artifact directly in prod', async () => {
    const r = await api(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/direct', kind: 'model', tier: 'internal', environment: 'prod' });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'COFFER_PROMOTION_REQUIRED');
    assert.match(r.json.error.message, /bypass-promotion/);
    assert.equal((await api(olivia, 'GET', '/v1/projects/vision/artifacts/models%2Fdirect')).status, 404, 'nothing was created');
    const denied = await records((b) => b.action === 'create-artifact' && b.resource === 'project/vision/artifact/models/direct');
    assert.deepEqual(denied.map((b) => [b.outcome, b.reason, b.context.prodChange]), [['denied', 'COFFER_PROMOTION_REQUIRED', 'create-in-prod']]);
  });

  void it('REST: a project writer cannot either', async () => {
    const r = await api(dana, 'POST', '/v1/projects/vision/artifacts', { name: 'models/direct', kind: 'model', tier: 'internal', environment: 'prod' });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'COFFER_PROMOTION_REQUIRED');
  });

  void it('S3: the first PUT cannot create the key in prod (x-amz-meta-coffer-environment)', async () => {
    const e = await s3Error(s3.send(new PutObjectCommand({ Bucket: 'vision', Key: 'models/s3direct', Body: 'weights', Metadata: { 'coffer-environment': 'prod' } })));
    assert.deepEqual(e, { code: 'AccessDenied', status: 403 });
    assert.equal((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'vision', Key: 'models/s3direct' })))).status, 404);
    assert.equal((await api(olivia, 'GET', '/v1/projects/vision/artifacts/models%2Fs3direct')).status, 404);
  });

  void it('S3: a delete marker over a version that reached prod is refused, one key or many', async () => {
    const one = await s3Error(s3.send(new DeleteObjectCommand({ Bucket: 'vision', Key: 'models/det' })));
    assert.deepEqual(one, { code: 'AccessDenied', status: 403 });
    const many = await s3.send(new DeleteObjectsCommand({ Bucket: 'vision', Delete: { Objects: [{ Key: 'models/det' }] } }));
    assert.deepEqual((many.Errors ?? []).map((e) => [e.Key, e.Code]), [['models/det', 'AccessDenied']]);
    assert.deepEqual(many.Deleted ?? [], []);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'vision', Prefix: 'models/det' }));
    assert.deepEqual(listed.DeleteMarkers ?? [], [], 'no marker hides the prod version');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'vision', Key: 'models/det' }));
    assert.equal((await got.Body!.transformToByteArray()).length, 1000);
    const denied = await records((b) => b.action === 'delete' && b.resource === 'project/vision/artifact/models/det');
    assert.ok(denied.length >= 2 && denied.every((b) => b.outcome === 'denied' && b.reason === 'COFFER_PROMOTION_REQUIRED' && b.context.prodChange === 'hide-prod-version'));
  });

  void it('S3: a key with no prod version is still deleted as before (a marker)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'vision', Key: 'scratch/tmp', Body: 'x' }));
    const out = await s3.send(new DeleteObjectCommand({ Bucket: 'vision', Key: 'scratch/tmp' }));
    assert.equal(out.DeleteMarker, true);
  });

  void it('S3: a new dev version over a key whose older version is in prod is not a prod change', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'vision', Key: 'models/det', Body: 'v2' }));
    assert.equal(put.VersionId, '2');
    const v1 = await s3.send(new GetObjectCommand({ Bucket: 'vision', Key: 'models/det', VersionId: '1' }));
    assert.equal((await v1.Body!.transformToByteArray()).length, 1000, 'the prod version is still there, unchanged');
  });

  void describe('an artifact that is in prod', () => {
    const policy = () => `@id("release/olivia-skips-promotion")\npermit (principal == Coffer::User::"${oliviaId}", action == Coffer::Action::"bypass-promotion", resource in Coffer::Project::"${projectId}");\n`;

    before(async () => {
      // only an explicit policy lets it exist: created and first written under one, which is then withdrawn
      assert.equal((await applyPolicies(policy())).status, 200);
      const created = await api(olivia, 'POST', '/v1/projects/vision/artifacts', { name: 'models/golden', kind: 'model', tier: 'internal', environment: 'prod' });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.equal((await push(olivia, 'models/golden', randomBytes(100))).status, 201);
    });

    void it('with the policy, the bypass is allowed and recorded with the policy that allowed it', async () => {
      const pushed = (await records((b) => b.action === 'upload' && b.resource === 'project/vision/artifact/models/golden' && b.outcome === 'attempt'))[0]!;
      assert.equal(pushed.context.prodChange, 'write-to-prod');
      assert.ok((pushed as unknown as { policies: string[] }).policies.includes('release/olivia-skips-promotion'));
      assert.equal((await api(h.adminToken, 'POST', '/v1/policy/apply', { sources: [], message: 'withdrawn' })).status, 200);
    });

    void it('without it, nothing can be written into it: REST push, PutObject, CopyObject, multipart', async () => {
      const pushed = await push(olivia, 'models/golden', randomBytes(100));
      assert.equal(pushed.status, 403);
      assert.equal(pushed.json.error.code, 'COFFER_PROMOTION_REQUIRED');
      assert.deepEqual(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'vision', Key: 'models/golden', Body: 'overwrite' }))), { code: 'AccessDenied', status: 403 });
      assert.deepEqual(await s3Error(s3.send(new CopyObjectCommand({ Bucket: 'vision', Key: 'models/golden', CopySource: 'vision/scratch/tmp?versionId=1' }))), { code: 'AccessDenied', status: 403 });
      assert.deepEqual(await s3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: 'vision', Key: 'models/golden' }))), { code: 'AccessDenied', status: 403 });
      const versions = (await api(olivia, 'GET', '/v1/projects/vision/artifacts/models%2Fgolden')).json.versions;
      assert.equal(versions.length, 1, 'still one version');
    });

    void it('an upload opened before the policy was withdrawn cannot complete into prod', async () => {
      assert.equal((await applyPolicies(policy())).status, 200);
      const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'vision', Key: 'models/golden' }));
      const part = await s3.send(new UploadPartCommand({ Bucket: 'vision', Key: 'models/golden', UploadId: mpu.UploadId, PartNumber: 1, Body: 'last part' }));
      assert.equal((await api(h.adminToken, 'POST', '/v1/policy/apply', { sources: [], message: 'withdrawn again' })).status, 200);
      const e = await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'vision', Key: 'models/golden', UploadId: mpu.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })));
      assert.deepEqual(e, { code: 'AccessDenied', status: 403 });
      assert.equal((await api(olivia, 'GET', '/v1/projects/vision/artifacts/models%2Fgolden')).json.versions.length, 1);
    });

    void it('without it, it cannot be hidden by a delete marker', async () => {
      assert.deepEqual(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: 'vision', Key: 'models/golden' }))), { code: 'AccessDenied', status: 403 });
      const denied = (await records((b) => b.action === 'delete' && b.resource === 'project/vision/artifact/models/golden')).at(-1)!;
      assert.deepEqual([denied.outcome, denied.reason, denied.context.prodChange], ['denied', 'COFFER_PROMOTION_REQUIRED', 'delete-in-prod']);
    });

    void it('explain says why a prod upload is refused', async () => {
      const r = await api(h.adminToken, 'POST', '/v1/authz/explain', { principal: 'olivia', action: 'upload', resource: { project: 'vision', artifact: 'models/golden' } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.allowed, false);
      assert.match(r.json.notes.join('\n'), /bypass-promotion/);
    });
  });
});
