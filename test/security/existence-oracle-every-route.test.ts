/**
 * Attack: probe for the existence of resources one may not see, by comparing the
 * answers for a name (or id) that exists but is hidden with those for one that does not
 * exist (penetration test of issue 11, finding 10: 400 vs 404, 403 vs 404, 409, 413 vs
 * 404 on several routes).
 *
 * Property, over every route of the OpenAPI document: the same request, by the same
 * caller, in a world where the resource exists but is hidden from her and in a world
 * where it does not exist, gets the same status, headers and body apart from request
 * ids and dates. Routes are enumerated from `/v1/openapi.json`, so new routes are
 * covered; one that names a resource in an unknown way fails the test until
 * support/route-cases.ts knows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerOf, codeOf, type Answer } from './support/compare.js';
import { casesOf, routesOf, type CaseRequest, type RouteCase } from './support/route-cases.js';
import { openWorld, type World } from './support/world.js';

function send(w: World, request: CaseRequest, asMallory: boolean) {
  return w.app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: { ...(asMallory ? { authorization: `Bearer ${w.malloryToken}` } : {}), ...(request.payload !== undefined && typeof request.payload !== 'string' ? { 'content-type': 'application/json' } : {}), ...request.headers },
    ...(request.payload !== undefined ? { payload: typeof request.payload === 'string' ? request.payload : JSON.stringify(request.payload) } : {}),
  });
}

const UPLOAD = 'POST /v1/projects/{project}/artifacts/{artifact}/versions';
const MAX_UPLOAD = 4096;

/** Routes whose minimal body is refused by validation whatever it names (nothing to look up for a well-formed one either). */
const VALIDATION_ONLY = new Set<string>([]);

test('existence oracle: every REST route answers a hidden resource exactly like a missing one', async () => {
  const hidden = await openWorld(true, null, { maxUploadBytes: MAX_UPLOAD });
  const missing = await openWorld(false, hidden.ids, { maxUploadBytes: MAX_UPLOAD });
  try {
    const doc = (await hidden.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<Parameters<typeof routesOf>[0]>();
    const routes = routesOf(doc);
    assert.ok(routes.length > 100, `the OpenAPI document lists ${routes.length} operations`);
    const uncovered: string[] = [];
    const differ: string[] = [];
    const stale: string[] = [];
    const vacuous: string[] = [];
    let compared = 0;
    const all: Array<{ route: (typeof routes)[number]; c: RouteCase }> = [];
    for (const route of routes) {
      const { cases, uncovered: u } = casesOf(route, hidden.ids);
      for (const what of u) uncovered.push(`${route.method} ${route.path}: ${what}`);
      for (const c of cases) all.push({ route, c });
    }
    // declared exceptions last: a free name is created in the missing world, and later cases must not see it
    const rank = (c: RouteCase) => (c.exception === null ? 0 : c.exception === 'create-by-name' ? 2 : 1);
    all.sort((x, y) => rank(x.c) - rank(y.c));
    {
      for (const { route, c } of all) {
        // the upload route streams a raw body: a small one, and one over the size limit (checked before any lookup)
        const requests: CaseRequest[] = c.route === UPLOAD ? ['abc', 'x'.repeat(MAX_UPLOAD + 1)].map((payload) => ({ ...c.request, payload, headers: { 'content-type': 'application/octet-stream' } })) : [c.request];
        for (const request of requests) {
        const a = answerOf(await send(hidden, request, !route.public), hidden.normalize);
        const b = answerOf(await send(missing, request, !route.public), missing.normalize);
        compared++;
        // a case refused by validation in both worlds proves nothing about the lookup
        if (a.status === 400 && codeOf(a) === 'COFFER_VALIDATION_FAILED' && !VALIDATION_ONLY.has(c.route)) vacuous.push(`${c.route} (${c.label}): ${a.body.slice(0, 160)}`);
        const same = a.status === b.status && a.body === b.body && JSON.stringify(a.headers) === JSON.stringify(b.headers);
        if (c.exception !== null) {
          if (same) stale.push(`${c.route} (${c.label}): declared exception \`${c.exception}\` no longer differs: remove it`);
          else await checkException(hidden, c, a, b, differ);
        } else if (!same) {
          differ.push(`${c.route} (${c.label}) ${request.url}\n    hidden:  ${a.status} ${a.body.slice(0, 200)} ${JSON.stringify(a.headers)}\n    missing: ${b.status} ${b.body.slice(0, 200)} ${JSON.stringify(b.headers)}`);
        }
        }
      }
    }
    assert.deepEqual(uncovered, [], `routes that name resources this test does not know:\n${uncovered.join('\n')}`);
    assert.ok(compared > 80, `only ${compared} requests compared`);
    assert.deepEqual(stale, []);
    assert.deepEqual(vacuous, [], `cases refused by validation before any lookup (fix their body in support/route-cases.ts):\n${vacuous.join('\n')}`);
    assert.deepEqual(differ, [], `hidden and missing answered differently on ${differ.length} requests:\n${differ.join('\n')}`);
  } finally {
    await hidden.close();
    await missing.close();
  }
});

/**
 * A declared exception: the hidden answer must be the one a visible resource gets (so
 * the caller learns only what the exception's reason says).
 */
async function checkException(hidden: World, c: RouteCase, a: Answer, b: Answer, differ: string[]): Promise<void> {
  switch (c.exception) {
    case 'create-by-name': {
      // the name of a visible artifact (`pub/open`) taken: the same status and code
      const visible = answerOf(await send(hidden, { ...c.request, payload: { ...(c.request.payload as object), name: 'open' } }, true), hidden.normalize);
      if (a.status !== visible.status || codeOf(a) !== codeOf(visible)) differ.push(`${c.route} (${c.label}): a hidden name answers ${a.status} ${codeOf(a)}, a visible taken name ${visible.status} ${codeOf(visible)}`);
      if (b.status !== 201) differ.push(`${c.route} (${c.label}): a free name answers ${b.status}`);
      return;
    }
    case 'access-request-by-name':
      // anyone may ask for access to what it can name (baseline policy `access/request`)
      if (a.status !== 201 || b.status !== 404) differ.push(`${c.route} (${c.label}): request-access answered ${a.status} (hidden) and ${b.status} (missing)`);
      return;
    default:
      differ.push(`${c.route}: unknown exception \`${c.exception}\``);
  }
}
