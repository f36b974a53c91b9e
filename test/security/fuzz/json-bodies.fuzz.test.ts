/**
 * Fuzz: every route of the REST API (listed from its own OpenAPI document), through the
 * real Fastify app and runtime (app.inject, SQLite, disk): JSON bodies shaped after each
 * route's schema with wrong and hostile values, random JSON, malformed and deeply nested
 * text, prototype-pollution keys, odd content types, path parameters and query strings,
 * as the admin, as nobody and with a random bearer. No answer is a 5xx, every error is
 * the JSON error document, nothing pollutes Object.prototype, and the server still
 * answers afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bearer, openAppHarness, type AppHarness } from '../../support/app-harness.js';
import { fuzzParams } from './fuzz-runs.js';
import { anyText } from './mutations.js';

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  params: string[];
  body: JsonSchema | null;
}
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  required?: string[];
}

/** Names that exist (so requests get past lookups) and names that attack (traversal, NUL, length); never the admin's own. */
const PARAM = fc.oneof(
  fc.constantFrom('alice', 'vision', 'models%2Fresnet', '1', 'latest', 'prn_00000000000000000000000000', 'ses_x', 'grt_x'),
  fc.constantFrom('..', '..%2F..%2Fetc', '%00', '%ZZ', 'a'.repeat(300), '%F0%9F%98%80', '__proto__', 'constructor'),
  anyText(12).map((s) => encodeURIComponent(s) || 'x'),
);

function valueFor(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  const wild = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, -1, 0, 1e308, -0, 2 ** 53 + 1, '', 'a'.repeat(5000), '\u0000', '../../x', { __proto__: { polluted: 1 } }, [[[[[]]]]]),
  );
  if (schema === undefined) return wild;
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  const shaped: fc.Arbitrary<unknown>[] = [];
  if (schema.enum !== undefined && schema.enum.length > 0) shaped.push(fc.constantFrom(...schema.enum));
  if (types.includes('string')) shaped.push(fc.oneof(fc.constantFrom('alice', 'vision', 'reader', 'owner', 'dev', 'prod', 'restricted', 'model', 'vision/models/resnet', '2030-01-01T00:00:00Z', 'coffer_pat_x'), anyText(20)));
  if (types.includes('integer') || types.includes('number')) shaped.push(fc.oneof(fc.integer({ min: -2, max: 100_000 }), fc.double()));
  if (types.includes('boolean')) shaped.push(fc.boolean());
  if (types.includes('array')) shaped.push(fc.array(valueFor(schema.items), { maxLength: 3 }));
  if (types.includes('object') || schema.properties !== undefined) shaped.push(objectFor(schema));
  return shaped.length === 0 ? wild : fc.oneof({ weight: 6, arbitrary: fc.oneof(...shaped) }, { weight: 1, arbitrary: wild });
}

function objectFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
  return fc.record(Object.fromEntries(props.map(([k, s]) => [k, valueFor(s)])), { requiredKeys: [] });
}

/** A raw body: JSON of the route's shape, random JSON, or text that is not JSON at all. */
function bodyFor(route: Route): fc.Arbitrary<{ payload: string; contentType: string }> {
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => ({ payload: JSON.stringify(v) ?? 'null', contentType: 'application/json' }));
  return fc.oneof(
    { weight: 6, arbitrary: json(route.body === null ? fc.jsonValue({ maxDepth: 2 }) : objectFor(route.body)) },
    { weight: 1, arbitrary: json(fc.jsonValue({ maxDepth: 3 })) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '{"__proto__": {"polluted": true}}',
        '{"constructor": {"prototype": {"polluted": true}}}',
        '{"a": 1, "a": 2}',
        `${'['.repeat(20000)}${']'.repeat(20000)}`,
        `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
        '{"name": "x"',
        '\uFEFF{}',
        'null',
        '',
        '1e999999',
        '"\\ud800"',
      ).map((payload) => ({ payload, contentType: 'application/json' })),
    },
    { weight: 1, arbitrary: fc.tuple(anyText(200), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', '')).map(([payload, contentType]) => ({ payload, contentType })) },
  );
}

void describe('fuzz: JSON bodies, parameters and bearers through the real app', () => {
  let h: AppHarness;
  let routes: Route[];

  before(async () => {
    h = await openAppHarness();
    const admin = bearer(h.adminToken);
    // a little state for requests to reach: a user, a project, an artifact with a version
    await h.user('alice');
    await h.app.inject({ method: 'POST', url: '/v1/projects', headers: admin, payload: { name: 'vision' } });
    await h.app.inject({ method: 'POST', url: '/v1/projects/vision/artifacts', headers: admin, payload: { name: 'models/resnet', kind: 'model', tier: 'internal', environment: 'dev' } });
    await h.app.inject({ method: 'POST', url: '/v1/projects/vision/artifacts/models%2Fresnet/versions', headers: { ...admin, 'content-type': 'application/octet-stream' }, payload: Buffer.from('weights') });
    const doc = (await h.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{ paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>> }>();
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase() as Route['method'],
        path,
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
      })),
    );
    assert.ok(routes.length > 100, `only ${routes.length} routes in the OpenAPI document`);
  });
  after(async () => h?.close());

  void it('regression (found by this fuzzer): a malformed %-escape in the URL is answered in the catalog\'s format', async () => {
    for (const url of ['/v1/projects/%ZZ', '/v1/share/%E0%A4%A', '/scim/v2/Users/%ZZ']) {
      const r = await h.app.inject({ method: 'GET', url, headers: bearer(h.adminToken) });
      assert.equal(r.statusCode, 400, url);
      assert.equal(r.json<{ error: { code: string } }>().error.code, 'COFFER_VALIDATION_FAILED', `${url}: ${r.body}`);
    }
  });

  void it('no request gets a 5xx or a non-JSON error, and nothing is polluted', async () => {
    const caseArb = fc.integer({ min: 0, max: 10_000 }).chain((i) => {
      const route = routes[i % routes.length]!;
      return fc.record({
        route: fc.constant(route),
        params: fc.tuple(...route.params.map(() => PARAM), fc.constant('')),
        query: fc.option(fc.dictionary(fc.constantFrom('limit', 'cursor', 'project', 'artifact', 'principal', 'state', 'offset', 'attributes', 'filter', '__proto__'), fc.oneof(fc.constantFrom('-1', '0', '1000000', 'x', ''), anyText(10)), { maxKeys: 3 })),
        body: route.method === 'GET' || route.method === 'DELETE' ? fc.constant(null) : bodyFor(route),
        auth: fc.constantFrom('admin', 'admin', 'admin', 'none', 'garbage', 'jwt-shaped'),
      });
    });
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ route, params, query, body, auth }) => {
        let url = route.path;
        route.params.forEach((name, i) => (url = url.replace(`{${name}}`, params[i]!)));
        if (query !== null) url += `?${new URLSearchParams(query).toString()}`;
        const headers: Record<string, string> =
          auth === 'admin' ? bearer(h.adminToken) : auth === 'garbage' ? { authorization: 'Bearer coffer_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } : auth === 'jwt-shaped' ? { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' } : {};
        if (body !== null && body.contentType !== '') headers['content-type'] = body.contentType;
        const r = await h.app.inject({ method: route.method, url, headers, ...(body !== null ? { payload: body.payload } : {}) });
        seen.add(`${route.method} ${route.path}`);
        const what = `${route.method} ${url} ${body === null ? '' : `${body.contentType} ${body.payload.slice(0, 200)}`}`;
        assert.ok(r.statusCode < 500, `${r.statusCode} for ${what}: ${r.body.slice(0, 300)}`);
        if (r.statusCode >= 400 && !route.path.startsWith('/scim') && !route.path.startsWith('/oauth')) {
          const err = r.json<{ error?: { code?: string } }>().error;
          assert.match(err?.code ?? '', /^COFFER_[A-Z0-9_]+$/, `${r.statusCode} without an error code for ${what}: ${r.body.slice(0, 200)}`);
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined, `Object.prototype polluted by ${what}`);
      }),
      fuzzParams(250, 2301),
    );
    assert.ok(seen.size > 50, `only ${seen.size} routes reached`);
    // the fuzzer's own address may be throttled by now (its unauthenticated refusals spend the
    // per-source budget, docs/security.md): then a clean 429; any other address is served as before
    for (const [url, headers] of [['/v1/health', {}], ['/v1/whoami', bearer(h.adminToken)]] as const) {
      const own = await h.app.inject({ method: 'GET', url, headers });
      if (own.statusCode !== 200) assert.equal(`${own.statusCode} ${own.json<{ error: { code: string } }>().error.code}`, '429 COFFER_RATE_LIMITED', url);
      assert.equal((await h.app.inject({ method: 'GET', url, headers, remoteAddress: '127.0.0.2' })).statusCode, 200, url);
    }
  });
});
