import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type ScimList = { totalResults: number; Resources: { id: string; userName?: string; displayName?: string; active?: boolean; members?: { value: string }[]; groups?: { value: string }[] }[] };
type ScimErr = { schemas: string[]; status: string; detail: string; scimType?: string };

void describe('identity: SCIM 2.0 provisioning and deprovisioning', () => {
  let h: IdentityHarness;
  let scimToken: string;
  let janeId: string;
  let groupId: string;
  before(async () => {
    h = await openIdentityHarness();
    const t = await h.call<{ token: string }>('POST', '/v1/identity/scim-tokens', { token: h.adminToken });
    assert.equal(t.status, 201);
    scimToken = t.body.token;
    assert.match(scimToken, /^coffer_scim_/);
    await h.call('POST', '/v1/projects', { token: h.adminToken, body: { name: 'ml' } });
    await h.call('POST', '/v1/projects/ml/artifacts', { token: h.adminToken, body: { name: 'model', kind: 'model', tier: 'internal', environment: 'dev' } });
    await h.app.inject({ method: 'POST', url: '/v1/projects/ml/artifacts/model/versions', headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from('weights') });
  });
  after(async () => h.close());

  const scim = <T = Record<string, unknown>>(method: string, url: string, body?: unknown, token = scimToken) =>
    h.call<T>(method, `/scim/v2${url}`, { token, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/scim+json' } } : {}) });

  test('bearer-protected, with SCIM error bodies', async () => {
    const none = await h.call<ScimErr>('GET', '/scim/v2/Users');
    assert.equal(none.status, 401);
    assert.deepEqual(none.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    assert.equal(none.body.status, '401');
    assert.equal((await scim('GET', '/Users', undefined, h.adminToken)).status, 401, 'an API token is not a SCIM token');
    const cfg = await scim<{ patch: { supported: boolean } }>('GET', '/ServiceProviderConfig');
    assert.equal(cfg.body.patch.supported, true);
    assert.match(String(cfg.headers['content-type']), /^application\/scim\+json/);
  });

  test('Okta-style create, filter, and group membership (Azure AD-style PATCH)', async () => {
    const created = await scim<{ id: string; userName: string; active: boolean; meta: { location: string } }>('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'jane.doe@example.com',
      name: { givenName: 'Jane', familyName: 'Doe' },
      emails: [{ primary: true, value: 'jane.doe@example.com', type: 'work' }],
      externalId: '00u1abcd',
      active: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    janeId = created.body.id;
    assert.equal(created.body.active, true);
    assert.equal(created.headers.location, created.body.meta.location);
    const dup = await scim<ScimErr>('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'jane.doe@example.com' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.scimType, 'uniqueness');
    const found = await scim<ScimList>('GET', `/Users?filter=${encodeURIComponent('userName eq "jane.doe@example.com"')}`);
    assert.equal(found.body.totalResults, 1);
    assert.equal(found.body.Resources[0]!.id, janeId);
    assert.equal((await scim<ScimList>('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody@example.com"')}`)).body.totalResults, 0);
    assert.equal((await scim<ScimList>('GET', `/Users?filter=${encodeURIComponent('externalId eq "00u1abcd"')}`)).body.totalResults, 1);
    assert.equal((await scim<ScimErr>('GET', `/Users?filter=${encodeURIComponent('name.familyName co "D"')}`)).body.scimType, 'invalidFilter');

    const group = await scim<{ id: string }>('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'ML Engineers', members: [] });
    assert.equal(group.status, 201);
    groupId = group.body.id;
    const add = await scim<{ members: { value: string }[] }>('PATCH', `/Groups/${groupId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Add', path: 'members', value: [{ value: janeId }] }] });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    assert.deepEqual(add.body.members.map((m) => m.value), [janeId]);
    assert.equal((await scim<ScimList>('GET', `/Groups?filter=${encodeURIComponent('displayName eq "ML Engineers"')}`)).body.totalResults, 1);
    const rm = await scim<{ members: unknown[] }>('PATCH', `/Groups/${groupId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: `members[value eq "${janeId}"]` }] });
    assert.deepEqual(rm.body.members, []);
    await scim('PATCH', `/Groups/${groupId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: janeId }] }] });
    // the group is a Coffer group: a grant to it reaches its members
    assert.equal((await h.call('POST', '/v1/grants', { token: h.adminToken, body: { principal: 'ml-engineers', role: 'reader', project: 'ml' } })).status, 201);
  });

  test('deactivation (PATCH active "False") refuses the very next request and removes grants, audited', async () => {
    const jane = await h.runtime.store.getPrincipal(janeId);
    assert.equal(jane!.name, 'jane.doe.example.com');
    await h.call('PUT', '/v1/auth/password', { token: h.adminToken, body: { principal: jane!.name, password: 'saffron-glacier-tundra-8' } });
    await h.call('POST', '/v1/grants', { token: h.adminToken, body: { principal: jane!.name, role: 'reader', project: 'ml', artifact: 'model' } });
    const session = await h.call<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/login', { body: { name: jane!.name, password: 'saffron-glacier-tundra-8' } });
    const pat = (await h.call<{ token: string }>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: jane!.name } })).body.token;
    assert.equal((await h.call('GET', '/v1/projects/ml/artifacts/model/versions/1/content', { token: session.body.accessToken })).status, 200);
    assert.equal((await h.call('GET', '/v1/whoami', { token: pat })).status, 200);

    const off = await scim<{ active: boolean }>('PATCH', `/Users/${janeId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.active, false);
    // the very next request, with either credential
    const next = await h.call<{ error: { code: string } }>('GET', '/v1/projects/ml/artifacts/model/versions/1/content', { token: session.body.accessToken });
    assert.equal(next.status, 401);
    assert.equal((await h.call('GET', '/v1/whoami', { token: pat })).status, 401);
    assert.equal((await h.call('POST', '/v1/auth/refresh', { body: { refreshToken: session.body.refreshToken } })).status, 401);
    assert.equal((await h.call('POST', '/v1/auth/login', { body: { name: jane!.name, password: 'saffron-glacier-tundra-8' } })).status, 401);
    assert.deepEqual(await h.runtime.store.listGrantsForPrincipals([janeId]), [], 'grants removed');
    // Okta-style reactivation: the account comes back, its old credentials and grants do not
    const on = await scim<{ active: boolean }>('PATCH', `/Users/${janeId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: true } }] });
    assert.equal(on.body.active, true);
    assert.equal((await h.call('GET', '/v1/whoami', { token: session.body.accessToken })).status, 401);
    assert.equal((await h.call('GET', '/v1/whoami', { token: pat })).status, 401);
    assert.equal((await h.call('POST', '/v1/auth/login', { body: { name: jane!.name, password: 'saffron-glacier-tundra-8' } })).status, 200);

    await h.runtime.audit.flush();
    const bodies: { action: string; outcome: string; actor: { kind: string } | null; context: Record<string, unknown> }[] = [];
    for await (const l of h.runtime.audit.export(1)) {
      const b = (JSON.parse(l) as { body?: (typeof bodies)[number] }).body;
      if (b) bodies.push(b);
    }
    const deact = bodies.filter((b) => b.action === 'scim-deactivate-user');
    assert.deepEqual(deact.map((b) => b.outcome), ['attempt', 'success']);
    assert.equal(deact[1]!.actor!.kind, 'scim');
    assert.equal(deact[1]!.context.tokens, 1);
    assert.equal(deact[1]!.context.grants, 1);
    assert.ok((deact[1]!.context.sessions as number) >= 1);
  });

  test('PUT replaces, DELETE deprovisions and hides the user', async () => {
    const put = await scim<{ displayName: string; active: boolean }>('PUT', `/Users/${janeId}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'jane.doe@example.com', displayName: 'Jane D.', active: true });
    assert.equal(put.status, 200);
    assert.equal(put.body.displayName, 'Jane D.');
    const login = await h.call<{ accessToken: string }>('POST', '/v1/auth/login', { body: { name: 'jane.doe.example.com', password: 'saffron-glacier-tundra-8' } });
    assert.equal((await scim('DELETE', `/Users/${janeId}`)).status, 204);
    assert.equal((await h.call('GET', '/v1/whoami', { token: login.body.accessToken })).status, 401);
    const gone = await scim<ScimErr>('GET', `/Users/${janeId}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.status, '404');
    assert.equal((await scim<ScimList>('GET', '/Users')).body.totalResults, 0);
    // revoking the SCIM token ends the IdP's access
    const tokens = await h.call<{ items: { id: string }[] }>('GET', '/v1/identity/scim-tokens', { token: h.adminToken });
    assert.equal((await h.call('DELETE', `/v1/identity/scim-tokens/${tokens.body.items[0]!.id}`, { token: h.adminToken })).status, 204);
    assert.equal((await scim('GET', '/Users')).status, 401);
  });
});
