/**
 * Two worlds for the "hidden equals missing" property: the same Coffer, the same caller
 * (`mallory`, a user who owns project `pub`), the same requests. The `hidden` world also
 * holds resources mallory may not see (a project, a restricted artifact in her own
 * project, other principals and their sessions, tokens, devices, requests, links...);
 * the `missing` world does not. Every request that names one of those resources must be
 * answered the same in both worlds, apart from request ids and dates.
 *
 * Everything is real: SQLite and disk in a temp dir, the REST app and the S3 app of the
 * composition root, driven with inject() (no sockets).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../../src/config/index.js';
import { openRuntime, type Runtime } from '../../../src/runtime/open-runtime.js';
import { buildApp } from '../../../src/server/app.js';
import { buildS3App } from '../../../src/server/s3-app.js';
import { MonitorSqlStore } from '../../../src/store/sql/monitor-sql-store.js';
import { sendS3, type S3Keys } from './s3-sign.js';

/** The ids of the hidden world's objects (the missing world answers requests naming them too). */
export interface HiddenIds {
  grant: string;
  token: string;
  session: string;
  webauthn: string;
  device: string;
  scimToken: string;
  accessRequest: string;
  breakGlass: string;
  shareLink: string;
  shareToken: string;
  alert: string;
  campaign: string;
  reviewItem: string;
  kid: string;
  accessKeyId: string;
  scimUser: string;
  scimGroup: string;
  /** Multipart uploads (with one part) the admin started on `hid/model` and `pub/secret`. */
  uploads: Record<string, string>;
}

/** One world: a running core, its two listeners (inject only) and mallory's credentials. */
export interface World {
  hidden: boolean;
  runtime: Runtime;
  app: FastifyInstance;
  s3: FastifyInstance;
  adminToken: string;
  malloryToken: string;
  mallory: { id: string; s3: { accessKeyId: string; secretAccessKey: string; sessionToken: string } };
  /** The hidden world's ids; in the missing world, those of its twin (requests use them as they are). */
  ids: HiddenIds;
  /** Replaces this world's ids of shared fixtures by stable names, so both worlds' answers compare. */
  normalize: (text: string) => string;
  close: () => Promise<void>;
}

const PASSWORD = `pw-${randomBytes(12).toString('base64url')}-Zq`;

async function call(app: FastifyInstance, token: string | null, method: string, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: method as 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
}

async function ok<T>(app: FastifyInstance, token: string | null, method: string, url: string, payload?: unknown): Promise<T> {
  const r = await call(app, token, method, url, payload);
  if (r.statusCode >= 300) throw new Error(`world setup: ${method} ${url} answered ${r.statusCode}: ${r.body}`);
  return (r.body === '' ? {} : r.json()) as T;
}

async function push(app: FastifyInstance, token: string, project: string, artifact: string, bytes: Buffer): Promise<void> {
  const r = await app.inject({ method: 'POST', url: `/v1/projects/${project}/artifacts/${encodeURIComponent(artifact)}/versions`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, payload: bytes });
  if (r.statusCode !== 201) throw new Error(`world setup: push ${project}/${artifact} answered ${r.statusCode}: ${r.body}`);
}

/**
 * Opens a world. `twin` (the hidden world) lends its ids to the missing world, so both
 * receive the very same requests.
 */
export async function openWorld(hidden: boolean, twin: HiddenIds | null, flags: Record<string, unknown> = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), `coffer-world-${hidden ? 'hidden' : 'missing'}-`));
  const config = loadConfig({ flags: { dataDir: dir, listen: '127.0.0.1:0', logLevel: 'silent', monitorEnabled: 0, ...flags } });
  const runtime = await openRuntime(config, { warn: () => undefined });
  const app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'silent', maxJsonBytes: config.maxJsonBytes, extensions: runtime.routes, publicRoutes: runtime.publicRoutes, metricRegistries: runtime.metricRegistries });
  const s3 = await buildS3App({ s3: runtime.s3, logLevel: 'silent' });
  const close = async () => {
    await s3.close();
    await app.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const boot = await ok<{ token: string; principal: { id: string } }>(app, null, 'POST', '/v1/bootstrap', { setupToken: runtime.setupToken, name: 'admin' });
    const admin = boot.token;
    const mal = await ok<{ id: string }>(app, admin, 'POST', '/v1/principals', { kind: 'user', name: 'mallory' });
    const malloryToken = (await ok<{ token: string }>(app, admin, 'POST', '/v1/tokens', { principal: 'mallory' })).token;
    // mallory owns `pub`, with one artifact she sees; admin may write there too
    await ok(app, admin, 'POST', '/v1/projects', { name: 'pub' });
    await ok(app, admin, 'POST', '/v1/grants', { principal: 'mallory', role: 'owner', project: 'pub' });
    await ok(app, malloryToken, 'POST', '/v1/projects/pub/artifacts', { name: 'open', kind: 'model', tier: 'internal', environment: 'dev' });
    await push(app, malloryToken, 'pub', 'open', Buffer.from('open bytes'));
    const malloryS3 = await ok<{ accessKeyId: string; secretAccessKey: string; sessionToken: string }>(app, malloryToken, 'POST', '/v1/s3/credentials', {});
    const shared = new Map<string, string>([
      [boot.principal.id, '<admin-id>'],
      [mal.id, '<mallory-id>'],
      [malloryS3.accessKeyId, '<mallory-akid>'],
    ]);
    const ids = hidden ? await hide(app, s3, runtime, admin) : twin;
    if (ids === null) throw new Error('the missing world needs the hidden world ids');
    return {
      hidden,
      runtime,
      app,
      s3,
      adminToken: admin,
      malloryToken,
      mallory: { id: mal.id, s3: malloryS3 },
      ids,
      normalize: (text) => {
        let out = text;
        for (const [id, label] of shared) out = out.split(id).join(label);
        return out;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Creates, in the hidden world, everything mallory may not see; returns the ids. */
async function hide(app: FastifyInstance, s3: FastifyInstance, runtime: Runtime, admin: string): Promise<HiddenIds> {
  // a project she has no grant on, and a restricted artifact inside her own project
  await ok(app, admin, 'POST', '/v1/projects', { name: 'hid' });
  await ok(app, admin, 'POST', '/v1/projects/hid/artifacts', { name: 'model', kind: 'model', tier: 'internal', environment: 'dev' });
  await push(app, admin, 'hid', 'model', Buffer.from('hidden model bytes'));
  await ok(app, admin, 'POST', '/v1/projects/pub/artifacts', { name: 'secret', kind: 'dataset', tier: 'restricted', environment: 'dev' });
  await push(app, admin, 'pub', 'secret', Buffer.from('restricted bytes'));

  // other principals and what hangs off them
  await ok(app, admin, 'POST', '/v1/principals', { kind: 'user', name: 'alice' });
  await ok(app, admin, 'POST', '/v1/principals', { kind: 'group', name: 'staff' });
  await ok(app, admin, 'POST', '/v1/groups/staff/members', { member: 'alice' });
  await ok(app, admin, 'POST', '/v1/principals', { kind: 'service-account', name: 'robot', owner: 'alice' });
  // the password first: setting it revokes the credentials alice already had (credential lineage)
  await ok(app, admin, 'PUT', '/v1/auth/password', { principal: 'alice', password: PASSWORD });
  const aliceToken = await ok<{ token: string; info: { id: string } }>(app, admin, 'POST', '/v1/tokens', { principal: 'alice' });
  const alice = aliceToken.token;
  const grant = await ok<{ id: string }>(app, admin, 'POST', '/v1/grants', { principal: 'alice', role: 'reader', project: 'hid' });
  const login = await ok<{ sessionId: string }>(app, null, 'POST', '/v1/auth/login', { name: 'alice', password: PASSWORD });
  const { publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = (await ok<{ kid: string }>(app, admin, 'POST', '/v1/service-accounts/robot/keys', { jwk })).kid;
  const device = await ok<{ id: string }>(app, alice, 'POST', '/v1/devices', { name: 'laptop', publicKey: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } });
  const webauthn = randomBytes(16).toString('base64url');
  await runtime.identity.identityStore.addWebAuthnCredential({ id: webauthn, principalId: (await runtime.store.getPrincipalByName('alice'))!.id, publicKey: randomBytes(77), counter: 0, transports: [], name: 'key', createdAt: Date.now(), lastUsedAt: null });
  const scimToken = await ok<{ id: string; token: string }>(app, admin, 'POST', '/v1/identity/scim-tokens');
  const scimHeaders = { authorization: `Bearer ${scimToken.token}`, 'content-type': 'application/scim+json' };
  const scimUser = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: scimHeaders, payload: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'carol', active: true }) });
  const scimGroup = await app.inject({ method: 'POST', url: '/scim/v2/Groups', headers: scimHeaders, payload: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'scim-team' }) });
  if (scimUser.statusCode !== 201 || scimGroup.statusCode !== 201) throw new Error(`world setup: scim answered ${scimUser.statusCode} ${scimUser.body} / ${scimGroup.statusCode} ${scimGroup.body}`);
  const s3cred = await ok<{ accessKeyId: string }>(app, alice, 'POST', '/v1/s3/credentials', {});
  await ok(app, admin, 'PUT', '/v1/identity/workload-issuers/ci', { issuer: 'https://ci.example', jwks: { keys: [jwk] }, audience: 'coffer', bindings: [{ serviceAccount: 'robot', claims: { sub: 'repo:x' } }] });

  // access module: a request, a break-glass (with its review), a share link limited to another network
  const request = await ok<{ id: string }>(app, alice, 'POST', '/v1/access/requests', { project: 'hid', artifact: 'model', role: 'reader', durationSeconds: 3600, justification: 'needed for the audit' });
  const breakGlass = await ok<{ id: string }>(app, admin, 'POST', '/v1/breakglass', { project: 'hid', artifact: 'model', role: 'reader', durationSeconds: 600, reason: 'incident 42' });
  const link = await ok<{ link: { id: string }; token: string }>(app, admin, 'POST', '/v1/share-links', { project: 'hid', artifact: 'model', version: 1, cidrs: ['10.99.0.0/16'] });

  // monitoring: an alert about alice, a review campaign and one of its items
  const alert = `alr_${randomBytes(12).toString('hex')}`;
  const aliceId = (await runtime.store.getPrincipalByName('alice'))!.id;
  const sql = runtime.store as unknown as { kysely: ConstructorParameters<typeof MonitorSqlStore>[0]; dialect: ConstructorParameters<typeof MonitorSqlStore>[1] };
  await new MonitorSqlStore(sql.kysely, sql.dialect).insertAlert({
    id: alert, rule: 'volume', severity: 'high', action: 'alert', principalKey: aliceId, principalId: aliceId, principalName: 'alice', time: Date.now(), createdAt: Date.now(),
    triggerSeq: 1, summary: 'test alert', evidence: [1], measures: {}, status: 'open', ackedBy: null, ackedAt: null, note: null,
  });
  const campaign = await ok<{ id: string }>(app, admin, 'POST', '/v1/reviews', { scope: 'project', project: 'hid', name: 'hid review' });
  const shown = await ok<{ items: Array<{ id: string }> }>(app, admin, 'GET', `/v1/reviews/${campaign.id}`);
  const reviewItem = shown.items[0]?.id;
  if (reviewItem === undefined) throw new Error('world setup: the review campaign has no item');

  // S3: multipart uploads in progress on the hidden objects, each with one part
  const adminKeys = await ok<S3Keys>(app, admin, 'POST', '/v1/s3/credentials', {});
  const uploads: Record<string, string> = {};
  for (const path of ['/hid/model', '/pub/secret']) {
    const created = await sendS3(s3, adminKeys, { method: 'POST', path, query: { uploads: '' } });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)?.[1];
    if (created.statusCode !== 200 || uploadId === undefined) throw new Error(`world setup: CreateMultipartUpload ${path} answered ${created.statusCode}: ${created.body}`);
    const part = await sendS3(s3, adminKeys, { method: 'PUT', path, query: { partNumber: '1', uploadId }, body: 'part one' });
    if (part.statusCode !== 200) throw new Error(`world setup: UploadPart ${path} answered ${part.statusCode}: ${part.body}`);
    uploads[path] = uploadId;
  }
  return {
    grant: grant.id,
    token: aliceToken.info.id,
    session: login.sessionId,
    webauthn,
    device: device.id,
    scimToken: scimToken.id,
    accessRequest: request.id,
    breakGlass: breakGlass.id,
    shareLink: link.link.id,
    shareToken: link.token,
    alert,
    campaign: campaign.id,
    reviewItem,
    kid,
    accessKeyId: s3cred.accessKeyId,
    scimUser: scimUser.json<{ id: string }>().id,
    scimGroup: scimGroup.json<{ id: string }>().id,
    uploads,
  };
}
