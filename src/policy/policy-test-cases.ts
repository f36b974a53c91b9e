import { ValidationError } from '../domain/errors.js';
import { ARTIFACT_KINDS, ENVIRONMENTS, ROLES, TIERS, type Artifact, type ArtifactVersion, type Grant, type Principal, type Project, type ScopeKind } from '../domain/types.js';
import { WEEKDAYS } from './local-time.js';
import { ACTIONS, type AccessRequest, type Action, type Decision, type PolicyEngine, type RequestContext, type ResourceRef } from './policy-engine.js';

/**
 * A policy test file (JSON), in the spirit of OPA's and Cedar's test cases: each case
 * is a request, described by names, and the decision expected.
 *
 * ```json
 * { "policies": ["working-hours.cedar"],
 *   "tests": [{
 *     "name": "a reader downloads from prod in working hours",
 *     "principal": { "name": "alice", "groups": ["ml"] },
 *     "grants": [{ "holder": "ml", "role": "reader", "on": "project" }],
 *     "action": "download",
 *     "resource": { "project": "vision", "artifact": "resnet", "tier": "internal", "environment": "prod", "version": 3 },
 *     "context": { "time": "2025-03-04T10:00:00Z", "sourceIp": "10.1.2.3" },
 *     "expect": "allow", "determining": ["g1"] }] }
 * ```
 */
export interface PolicyTestFile {
  /** Policy files to test, relative to the test file (read by the CLI); absent: the active set. */
  policies?: string[];
  tests: PolicyTestCase[];
}

/** One test case. Every name is also the entity's id (test-local). */
export interface PolicyTestCase {
  name: string;
  /** A user name, or a principal with its kind (`user` | `service-account`) and groups (`admins` = the administrators group). */
  principal: string | { name: string; kind?: 'user' | 'service-account'; groups?: string[] };
  /** Grants of the principal or its groups on the resource's project, artifact or version. */
  grants?: { id?: string; holder?: string; role: string; on: ScopeKind; expiresAt?: string }[];
  action: string;
  /** `system`, or a project with an optional artifact (and its tier, environment, kind, owner) and version number. */
  resource: 'system' | { project: string; artifact?: string; tier?: string; environment?: string; kind?: string; owner?: string; version?: number };
  context?: {
    sourceIp?: string;
    /** ISO time (default 2025-01-06T10:00:00Z, a Monday). */
    time?: string;
    localHour?: number;
    localWeekday?: string;
    mfa?: string[];
    mfaAgeSeconds?: number;
    deviceManaged?: boolean;
    deviceId?: string;
  };
  expect: 'allow' | 'deny';
  /** If given, the determining policy ids must be exactly these (any order). */
  determining?: string[];
}

/** The outcome of one case. */
export interface PolicyTestResult {
  name: string;
  passed: boolean;
  expected: 'allow' | 'deny';
  decision: Decision;
  /** Why it failed (empty when passed). */
  message: string;
}

/** The group name that stands for the administrators group in test cases. */
export const TEST_ADMINS_GROUP = 'admins';
const DEFAULT_TIME = Date.UTC(2025, 0, 6, 10);
const MAX_TESTS = 10000;

/** Checks the shape of a parsed test file; throws ValidationError naming the first bad field. */
export function parsePolicyTestFile(json: unknown): PolicyTestFile {
  const file = obj(json, 'test file', ['policies', 'tests']);
  if (file.policies !== undefined) strings(file.policies, 'policies');
  if (!Array.isArray(file.tests) || file.tests.length === 0 || file.tests.length > MAX_TESTS) throw bad(`tests: must be a list of 1 to ${MAX_TESTS} test cases`);
  file.tests.forEach((t, i) => checkCase(t, `tests[${i}]`));
  return file as unknown as PolicyTestFile;
}

function checkCase(json: unknown, at: string): void {
  const t = obj(json, at, ['name', 'principal', 'grants', 'action', 'resource', 'context', 'expect', 'determining']);
  str(t.name, `${at}.name`);
  if (typeof t.principal !== 'string') {
    const p = obj(t.principal, `${at}.principal`, ['name', 'kind', 'groups']);
    str(p.name, `${at}.principal.name`);
    if (p.kind !== undefined) oneOf(p.kind, ['user', 'service-account'], `${at}.principal.kind`);
    if (p.groups !== undefined) strings(p.groups, `${at}.principal.groups`);
  } else str(t.principal, `${at}.principal`);
  if (t.grants !== undefined) {
    if (!Array.isArray(t.grants)) throw bad(`${at}.grants: must be a list`);
    t.grants.forEach((g, i) => {
      const w = `${at}.grants[${i}]`;
      const o = obj(g, w, ['id', 'holder', 'role', 'on', 'expiresAt']);
      if (o.id !== undefined) str(o.id, `${w}.id`);
      if (o.holder !== undefined) str(o.holder, `${w}.holder`);
      oneOf(o.role, ROLES, `${w}.role`);
      oneOf(o.on, ['project', 'artifact', 'version'], `${w}.on`);
      if (o.expiresAt !== undefined) time(o.expiresAt, `${w}.expiresAt`);
    });
  }
  oneOf(t.action, ACTIONS, `${at}.action`);
  if (t.resource !== 'system') {
    const r = obj(t.resource, `${at}.resource`, ['project', 'artifact', 'tier', 'environment', 'kind', 'owner', 'version']);
    str(r.project, `${at}.resource.project`);
    if (r.artifact !== undefined) str(r.artifact, `${at}.resource.artifact`);
    if (r.tier !== undefined) oneOf(r.tier, TIERS, `${at}.resource.tier`);
    if (r.environment !== undefined) oneOf(r.environment, ENVIRONMENTS, `${at}.resource.environment`);
    if (r.kind !== undefined) oneOf(r.kind, ARTIFACT_KINDS, `${at}.resource.kind`);
    if (r.owner !== undefined) str(r.owner, `${at}.resource.owner`);
    if (r.version !== undefined && (!Number.isSafeInteger(r.version) || (r.version as number) < 1)) throw bad(`${at}.resource.version: must be a positive integer`);
    if (r.version !== undefined && r.artifact === undefined) throw bad(`${at}.resource.version: needs an artifact`);
  }
  if (t.context !== undefined) {
    const c = obj(t.context, `${at}.context`, ['sourceIp', 'time', 'localHour', 'localWeekday', 'mfa', 'mfaAgeSeconds', 'deviceManaged', 'deviceId']);
    if (c.sourceIp !== undefined) str(c.sourceIp, `${at}.context.sourceIp`);
    if (c.time !== undefined) time(c.time, `${at}.context.time`);
    if (c.localHour !== undefined && (!Number.isSafeInteger(c.localHour) || (c.localHour as number) < 0 || (c.localHour as number) > 23)) throw bad(`${at}.context.localHour: must be an integer from 0 to 23`);
    if (c.localWeekday !== undefined) oneOf(c.localWeekday, WEEKDAYS, `${at}.context.localWeekday`);
    if (c.mfa !== undefined) strings(c.mfa, `${at}.context.mfa`);
    if (c.mfaAgeSeconds !== undefined && (!Number.isSafeInteger(c.mfaAgeSeconds) || (c.mfaAgeSeconds as number) < 0)) throw bad(`${at}.context.mfaAgeSeconds: must be a non-negative integer`);
    if (c.deviceManaged !== undefined && typeof c.deviceManaged !== 'boolean') throw bad(`${at}.context.deviceManaged: must be true or false`);
    if (c.deviceId !== undefined && typeof c.deviceId !== 'string') throw bad(`${at}.context.deviceId: must be a string`);
  }
  oneOf(t.expect, ['allow', 'deny'], `${at}.expect`);
  if (t.determining !== undefined && !(Array.isArray(t.determining) && t.determining.every((d) => typeof d === 'string'))) throw bad(`${at}.determining: must be a list of policy ids`);
}

/** The AccessRequest a test case describes (test-local ids: names). */
export function requestOfCase(t: PolicyTestCase): AccessRequest {
  const p = typeof t.principal === 'string' ? { name: t.principal } : t.principal;
  const principal: Principal = { id: p.name, kind: p.kind ?? 'user', name: p.name, displayName: p.name, ownerId: null, disabled: false, createdAt: 0 };
  let resource: ResourceRef = { kind: 'system' };
  const scopeIds: Partial<Record<ScopeKind, string>> = {};
  if (t.resource !== 'system') {
    const r = t.resource;
    const project: Project = { id: r.project, name: r.project, description: '', createdBy: p.name, createdAt: 0 };
    resource = { kind: 'project', project };
    scopeIds.project = project.id;
    if (r.artifact !== undefined) {
      const artifact: Artifact = {
        id: `${r.project}/${r.artifact}`,
        projectId: project.id,
        name: r.artifact,
        kind: (r.kind ?? 'model') as Artifact['kind'],
        tier: (r.tier ?? 'internal') as Artifact['tier'],
        environment: (r.environment ?? 'dev') as Artifact['environment'],
        ownerId: r.owner ?? p.name,
        labels: {},
        createdAt: 0,
      };
      resource = { kind: 'artifact', project, artifact };
      scopeIds.artifact = artifact.id;
      if (r.version !== undefined) {
        const version: ArtifactVersion = { id: `${artifact.id}@${r.version}`, artifactId: artifact.id, number: r.version, sha256: '', size: 0, mediaType: '', createdBy: p.name, createdAt: 0, blobKey: '', wrappedKey: null, keyTerm: 1 };
        resource = { kind: 'version', project, artifact, version };
        scopeIds.version = version.id;
      }
    }
  }
  const grants: Grant[] = (t.grants ?? []).map((g, i) => {
    const scopeId = scopeIds[g.on];
    if (scopeId === undefined) throw bad(`test \`${t.name}\`: grants[${i}] is on the ${g.on}, but the resource has none`);
    return { id: g.id ?? `g${i + 1}`, principalId: g.holder ?? p.name, role: g.role as Grant['role'], scopeKind: g.on, scopeId, createdBy: p.name, createdAt: 0, expiresAt: g.expiresAt === undefined ? null : Date.parse(g.expiresAt) };
  });
  const c = t.context ?? {};
  const context: RequestContext = {
    sourceIp: c.sourceIp ?? '127.0.0.1',
    now: c.time === undefined ? DEFAULT_TIME : Date.parse(c.time),
    mfa: { methods: c.mfa ?? [], ageSeconds: c.mfaAgeSeconds ?? 0 },
    device: { managed: c.deviceManaged ?? false, id: c.deviceId ?? '' },
    ...(c.localHour !== undefined ? { localHour: c.localHour } : {}),
    ...(c.localWeekday !== undefined ? { localWeekday: c.localWeekday as RequestContext['localWeekday'] } : {}),
  };
  return { subject: { principal, groupIds: typeof t.principal === 'string' ? [] : (t.principal.groups ?? []), grants }, action: t.action as Action, resource, context };
}

/**
 * Runs every case against `engine` (built with the administrators group id
 * {@link TEST_ADMINS_GROUP}). A case passes when the decision is the one expected and,
 * if `determining` is given, the determining policies are exactly those. A decision
 * with errors is a deny (fail closed) and says so.
 */
export function runPolicyTests(engine: PolicyEngine, file: PolicyTestFile): PolicyTestResult[] {
  return file.tests.map((t) => {
    const decision = engine.authorize(requestOfCase(t));
    const actual = decision.allowed ? 'allow' : 'deny';
    const problems: string[] = [];
    if (actual !== t.expect) problems.push(`expected ${t.expect}, got ${actual}${decision.errors.length > 0 ? ` (errors: ${decision.errors.join(', ')})` : ''}`);
    if (t.determining !== undefined) {
      const want = [...t.determining].sort();
      if (want.join('\u0000') !== [...decision.determining].sort().join('\u0000')) problems.push(`expected determining [${want.join(', ')}], got [${decision.determining.join(', ')}]`);
    }
    return { name: t.name, passed: problems.length === 0, expected: t.expect, decision, message: problems.join('; ') };
  });
}

function bad(message: string): ValidationError {
  return new ValidationError(`policy test file is not valid: ${message}`);
}
function obj(v: unknown, at: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${at}: must be an object`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw bad(`${at}: unknown field \`${k.slice(0, 40)}\` (known: ${keys.join(', ')})`);
  return v as Record<string, unknown>;
}
function str(v: unknown, at: string): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > 512) throw bad(`${at}: must be a non-empty string`);
}
function strings(v: unknown, at: string): void {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) throw bad(`${at}: must be a list of strings`);
}
function oneOf(v: unknown, allowed: readonly string[], at: string): void {
  if (typeof v !== 'string' || !allowed.includes(v)) throw bad(`${at}: must be one of ${allowed.join(', ')}`);
}
function time(v: unknown, at: string): void {
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw bad(`${at}: must be an ISO date and time`);
}
