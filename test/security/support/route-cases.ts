/**
 * Every REST route of the OpenAPI document, turned into requests that name resources of
 * the hidden world (see world.ts). A route is enumerated from `/v1/openapi.json`, so a
 * new route is covered without editing this file, unless it names a resource in a way
 * this file does not know: then `casesOf` reports it as uncovered and the property tests
 * fail until a slot (or a body builder) is added below.
 */
import type { HiddenIds } from './world.js';

/** What a parameter or body field names. */
export type Category =
  | 'project' | 'artifact' | 'version' | 'principal' | 'group' | 'service-account' | 'workload-issuer' | 'policy-version'
  | 'grant' | 'token' | 'session' | 'webauthn' | 'device' | 'scimToken' | 'accessRequest' | 'breakGlass' | 'shareLink' | 'shareToken'
  | 'alert' | 'campaign' | 'reviewItem' | 'kid' | 'accessKeyId' | 'scimUser' | 'scimGroup'
  /** An unguessable bearer secret (a ceremony id): holding it is the right to use it, there is no "hidden" one. */
  | 'secret'
  /** Listed to everyone on purpose (SSO provider names on the login page). */
  | 'public'
  /** Not a resource (a static file name). */
  | 'none';

/** One operation of the OpenAPI document. */
export interface RouteSpec {
  method: string;
  /** OpenAPI path, e.g. `/v1/projects/{project}`. */
  path: string;
  params: Array<{ in: 'path' | 'query' | 'header'; name: string; required: boolean }>;
  body: Record<string, unknown> | null;
  /** `security: []`: no bearer token expected. */
  public: boolean;
}

/** A request of a case. */
export interface CaseRequest {
  method: string;
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
}

/** The requests of one route that name hidden resources, with what they name. */
export interface RouteCase {
  route: string;
  label: string;
  request: CaseRequest;
  /** Declared exception (see EXCEPTIONS): the hidden world may answer differently, for the reason given. */
  exception: string | null;
}

/** Reads the operations of an OpenAPI 3.1 document produced by @fastify/swagger. */
export function routesOf(doc: { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string; required?: boolean }>; requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> }; security?: unknown[] }>> }): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const content = op.requestBody?.content ?? {};
      const schema = Object.values(content)[0]?.schema ?? null;
      out.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query' || p.in === 'header').map((p) => ({ in: p.in as 'path', name: p.name, required: p.required === true })),
        body: schema,
        public: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  }
  return out;
}

/** What `:id` names, by the path it sits in (longest prefix first). */
const ID_BY_PREFIX: Array<[string, Category]> = [
  ['/v1/reviews/items/', 'reviewItem'],
  ['/v1/reviews/', 'campaign'],
  ['/v1/tokens/', 'token'],
  ['/v1/grants/', 'grant'],
  ['/v1/auth/sessions/', 'session'],
  ['/v1/auth/webauthn/credentials/', 'webauthn'],
  ['/v1/auth/webauthn/ceremonies/', 'secret'],
  ['/v1/identity/scim-tokens/', 'scimToken'],
  ['/v1/devices/', 'device'],
  ['/v1/access/requests/', 'accessRequest'],
  ['/v1/breakglass/reviews/', 'breakGlass'],
  ['/v1/share-links/', 'shareLink'],
  ['/v1/monitor/alerts/', 'alert'],
  ['/scim/v2/Users/', 'scimUser'],
  ['/scim/v2/Groups/', 'scimGroup'],
];

/** What `:name` names, by path prefix. */
const NAME_BY_PREFIX: Array<[string, Category]> = [
  ['/v1/principals/', 'principal'],
  ['/v1/monitor/unlock/', 'principal'],
  ['/v1/recommendations/', 'principal'],
  ['/v1/service-accounts/', 'service-account'],
  ['/v1/identity/workload-issuers/', 'workload-issuer'],
  ['/v1/identity/sso-providers/', 'public'],
];

/** The category of a path or query parameter; null when unknown (uncovered). */
export function categoryOf(route: RouteSpec, where: 'path' | 'query' | 'header', name: string): Category | null {
  const byPrefix = (table: Array<[string, Category]>) => table.find(([p]) => route.path.startsWith(p))?.[1] ?? null;
  if (where === 'header') return name === 'x-coffer-sha256' ? 'none' : null;
  if (where === 'query') {
    if (['project', 'artifact'].includes(name)) return name as Category;
    if (name === 'version') return 'version';
    if (name === 'principal') return 'principal';
    // paging, filters and flags name nothing
    if (['limit', 'cursor', 'fromSeq', 'all', 'view', 'status', 'kind', 'days', 'format', 'filter', 'startIndex', 'count', 'attributes', 'excludedAttributes', 'redirect', 'challenge'].includes(name)) return 'none';
    return null;
  }
  switch (name) {
    case 'project':
    case 'artifact':
      return name;
    case 'version':
      return route.path.startsWith('/v1/policy/') ? 'policy-version' : 'version';
    case 'group':
      return 'group';
    case 'kid':
      return 'kid';
    case 'accessKeyId':
      return 'accessKeyId';
    case 'token':
      // a share link's secret is its credential: whoever holds it knows the link exists
      return route.path.startsWith('/v1/share/') ? 'secret' : null;
    case 'provider':
      return 'public';
    case 'file':
      return 'none';
    case 'id':
      return byPrefix(ID_BY_PREFIX);
    case 'name':
      return byPrefix(NAME_BY_PREFIX);
    default:
      return null;
  }
}

/** Body fields that name resources: a route whose body has one needs an entry in BODIES. */
const RESOURCE_FIELDS = new Set(['project', 'artifact', 'version', 'principal', 'member', 'owner', 'serviceAccount', 'group', 'name', 'grantee']);

/** A consistent choice of catalog resources: a hidden project, or a restricted artifact in mallory's own project. */
interface CatalogVariant {
  label: string;
  project: string;
  artifact: string;
  version: string;
}
const CATALOG: CatalogVariant[] = [
  { label: 'hidden project', project: 'hid', artifact: 'model', version: '1' },
  { label: 'hidden artifact in a visible project', project: 'pub', artifact: 'secret', version: '1' },
];

/**
 * Bodies of routes whose body names resources. Each returns the payload for a catalog
 * variant, or null when the route's body names no catalog resource (one case then).
 */
type BodyBuilder = (v: CatalogVariant, ids: HiddenIds) => unknown;

/** Catalog body builders that name a project only (their second variant would name nothing hidden). */
const PROJECT_ONLY_BODY = new Set(['POST /v1/projects', 'POST /v1/reviews']);
const BODIES: Record<string, BodyBuilder> = {
  // creates: the name in the body is the new resource; `kind`/`owner` name existing ones
  'POST /v1/principals': () => ({ kind: 'service-account', name: 'alice', owner: 'alice' }),
  'POST /v1/projects': (v) => ({ name: v.project }),
  'POST /v1/projects/{project}/artifacts': (v) => ({ name: v.artifact, kind: 'model', tier: 'internal', environment: 'dev' }),
  'POST /v1/groups/{group}/members': () => ({ member: 'alice' }),
  'POST /v1/tokens': () => ({ principal: 'alice' }),
  'POST /v1/grants': (v) => ({ principal: 'alice', role: 'reader', project: v.project, artifact: v.artifact, version: Number(v.version) }),
  'POST /v1/authz/explain': (v) => ({ principal: 'alice', action: 'download', resource: { project: v.project, artifact: v.artifact, version: Number(v.version) } }),
  'POST /v1/auth/sessions/revoke-all': () => ({ principal: 'alice' }),
  'PUT /v1/auth/password': () => ({ principal: 'alice', password: 'a-long-enough-new-password-9' }),
  'PUT /v1/identity/workload-issuers/{name}': () => ({ issuer: 'https://ci.example', jwks: { keys: [] }, audience: 'coffer', bindings: [{ serviceAccount: 'robot', claims: { sub: 'x' } }] }),
  'POST /v1/access/requests': (v) => ({ project: v.project, artifact: v.artifact, role: 'reader', durationSeconds: 3600, justification: 'let me in' }),
  'POST /v1/breakglass': (v) => ({ project: v.project, artifact: v.artifact, role: 'reader', durationSeconds: 600, reason: 'incident' }),
  'POST /v1/gate/exceptions': (v) => ({ project: v.project, artifact: v.artifact, version: Number(v.version), justification: 'scanner false positive' }),
  'POST /v1/promotions': (v) => ({ project: v.project, artifact: v.artifact, version: Number(v.version), to: 'staging', justification: 'ship it' }),
  'POST /v1/share-links': (v) => ({ project: v.project, artifact: v.artifact, version: Number(v.version) }),
  'POST /v1/reviews': (v) => ({ scope: 'project', project: v.project, name: 'a review' }),
  'POST /v1/auth/login': () => ({ name: 'alice', password: 'not-her-password-1234' }),
  'POST /v1/bootstrap': () => ({ setupToken: 'coffer_setup_000000000000000000000000', name: 'alice' }),
  'POST /v1/policy/rollback': () => ({ version: 2 }),
};

/** Routes whose body fields look like resource names but are free text (policy file names, a key's nickname). */
const NAMES_NOTHING = new Set([
  'POST /v1/policy/validate', 'POST /v1/policy/format', 'POST /v1/policy/test', 'POST /v1/policy/diff', 'POST /v1/policy/apply', 'POST /v1/policy/impact',
  'POST /v1/auth/webauthn/registrations/finish',
  // the name of the caller's own new device
  'POST /v1/devices',
]);

/** Bodies whose resource fields are not catalog-dependent (one case, not one per variant). */
const SINGLE_BODY = new Set([
  'POST /v1/principals', 'POST /v1/groups/{group}/members', 'POST /v1/tokens', 'POST /v1/auth/sessions/revoke-all', 'PUT /v1/auth/password',
  'PUT /v1/identity/workload-issuers/{name}', 'POST /v1/auth/login', 'POST /v1/bootstrap', 'POST /v1/policy/rollback',
]);

/**
 * Declared exceptions: where a hidden resource cannot answer like a missing one, and why.
 * The property test checks instead that the hidden answer is the answer for a resource
 * the caller can see (so the only thing learnt is the one the reason names).
 */
export const EXCEPTIONS: Record<string, string> = {
  // a missing name is created; a taken one cannot be: the answer is "name taken", as for a visible one
  'POST /v1/projects/{project}/artifacts#hidden artifact in a visible project': 'create-by-name',
  // baseline policy `access/request`: anyone may ask for access to a scope it can name (docs/access.md)
  'POST /v1/access/requests#hidden project': 'access-request-by-name',
  'POST /v1/access/requests#hidden artifact in a visible project': 'access-request-by-name',
};

function valueOf(category: Category, v: CatalogVariant, ids: HiddenIds): string | null {
  switch (category) {
    case 'project': return v.project;
    case 'artifact': return v.artifact;
    case 'version': return v.version;
    case 'principal': return 'alice';
    case 'group': return 'staff';
    case 'service-account': return 'robot';
    case 'workload-issuer': return 'ci';
    case 'policy-version': return '2';
    case 'grant': return ids.grant;
    case 'token': return ids.token;
    case 'session': return ids.session;
    case 'webauthn': return ids.webauthn;
    case 'device': return ids.device;
    case 'scimToken': return ids.scimToken;
    case 'accessRequest': return ids.accessRequest;
    case 'breakGlass': return ids.breakGlass;
    case 'shareLink': return ids.shareLink;
    case 'shareToken': return ids.shareToken;
    case 'alert': return ids.alert;
    case 'campaign': return ids.campaign;
    case 'reviewItem': return ids.reviewItem;
    case 'kid': return ids.kid;
    case 'accessKeyId': return ids.accessKeyId;
    case 'scimUser': return ids.scimUser;
    case 'scimGroup': return ids.scimGroup;
    case 'secret':
    case 'public':
    case 'none':
      return null;
  }
}

/** A minimal valid value of a JSON schema (required properties only). */
export function sampleOf(schema: Record<string, unknown> | undefined): unknown {
  if (schema === undefined) return {};
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'string':
      return schema.format === 'date-time' ? new Date(Date.now() + 3600_000).toISOString() : 'x'.repeat(Math.max(1, Number(schema.minLength ?? 1)));
    case 'integer':
    case 'number':
      return Number(schema.minimum ?? 1);
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => sampleOf(schema.items as Record<string, unknown>));
    default: {
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      const out: Record<string, unknown> = {};
      for (const name of (schema.required ?? []) as string[]) out[name] = sampleOf(props[name]);
      return out;
    }
  }
}

function fieldNames(schema: unknown, out = new Set<string>()): Set<string> {
  if (typeof schema !== 'object' || schema === null) return out;
  const s = schema as Record<string, unknown>;
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) {
    out.add(k);
    fieldNames(v, out);
  }
  if (s.items !== undefined) fieldNames(s.items, out);
  return out;
}

/**
 * The cases of a route: one per catalog variant when it names catalog resources, else
 * one; none when it names nothing. `uncovered` lists what it names that this file does
 * not know.
 */
export function casesOf(route: RouteSpec, ids: HiddenIds): { cases: RouteCase[]; uncovered: string[] } {
  const key = `${route.method} ${route.path}`;
  const uncovered: string[] = [];
  const slots: Array<{ in: 'path' | 'query' | 'header'; name: string; category: Category }> = [];
  for (const p of route.params) {
    const category = categoryOf(route, p.in, p.name);
    if (category === null) uncovered.push(`${p.in} parameter \`${p.name}\``);
    else slots.push({ ...p, category });
  }
  const builder = BODIES[key];
  if (route.body !== null && builder === undefined && !NAMES_NOTHING.has(key)) {
    const named = [...fieldNames(route.body)].filter((f) => RESOURCE_FIELDS.has(f));
    if (named.length > 0) uncovered.push(`body field(s) ${named.map((f) => `\`${f}\``).join(', ')}: add a builder to BODIES`);
  }
  const named = slots.filter((s) => valueOf(s.category, CATALOG[0]!, ids) !== null);
  const catalog = slots.some((s) => s.category === 'project' || s.category === 'artifact' || s.category === 'version') || (builder !== undefined && !SINGLE_BODY.has(key));
  if (named.length === 0 && builder === undefined) return { cases: [], uncovered };
  // the second variant hides an artifact: only for routes that name one
  const namesArtifact = slots.some((s) => s.category === 'artifact') || (builder !== undefined && !SINGLE_BODY.has(key) && !PROJECT_ONLY_BODY.has(key));
  const variants = catalog && namesArtifact ? CATALOG : [CATALOG[0]!];
  const cases: RouteCase[] = [];
  for (const v of variants) {
    let path = route.path;
    const query: string[] = [];
    const headers: Record<string, string> = {};
    for (const s of slots) {
      const value = valueOf(s.category, v, ids) ?? (s.category === 'none' || s.category === 'public' || s.category === 'secret' ? placeholder(s.name) : null);
      if (value === null) continue;
      if (s.in === 'path') path = path.replace(`{${s.name}}`, encodeURIComponent(value));
      else if (s.in === 'query' && (s.category !== 'none' || (route.params.find((p) => p.name === s.name)?.required ?? false))) query.push(`${s.name}=${encodeURIComponent(value)}`);
    }
    // a query slot that is named only with its siblings (artifact needs project) stays consistent
    const payload = builder !== undefined ? builder(v, ids) : route.body !== null ? sampleOf(route.body) : undefined;
    const label = catalog ? v.label : 'hidden';
    const request: CaseRequest = { method: route.method, url: path + (query.length > 0 ? `?${query.join('&')}` : ''), ...(payload !== undefined ? { payload } : {}), ...(Object.keys(headers).length > 0 ? { headers } : {}) };
    cases.push({ route: key, label, request, exception: EXCEPTIONS[`${key}#${label}`] ?? null });
  }
  return { cases, uncovered };
}

function placeholder(name: string): string {
  return name === 'file' ? 'index.html' : name === 'redirect' ? 'http://127.0.0.1:9/cb' : name === 'challenge' ? 'A'.repeat(43) : `x-${name}`;
}
