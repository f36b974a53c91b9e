/**
 * What CompiledEngine derives from a request's subject and context, prepared once per
 * Subject and RequestContext object and reused by every decision of the same request
 * (a listing decides a hundred rows for one caller): the principal and group entities,
 * the grants as ready template links indexed by scope, the Cedar context record.
 */
import type { Grant, ScopeKind } from '../domain/types.js';
import { ENTITY_TYPE, grantTemplateId, scopeEntityType } from './cedar-names.js';
import { isGrantActive } from './grant-links.js';
import type { RequestContext, Subject } from './policy-engine.js';
import type { EntityData } from './compiled/entity-store.js';
import type { PolicyInstance } from './compiled/policy-index.js';
import type { LinkSlots } from './compiled/compiled-policy-set.js';
import { EntityUid, type CedarRecord } from './compiled/values.js';
import { RequestMappingError } from './to-cedar-entities.js';

/** A grant ready to link: its instance, or the error its link raises. */
interface ReadyGrant {
  grant: Grant;
  /** Position in the subject's grants: with duplicate ids, the first active one links. */
  index: number;
  instance: PolicyInstance | undefined;
  error: Error | undefined;
}

/** A subject in evaluator terms. */
export interface PreparedSubject {
  readonly principal: EntityUid;
  readonly principalData: EntityData;
  /** The principal's groups (entity keys), its ancestors. */
  readonly groupKeys: readonly string[];
  /** Entities of the principal and its groups, by key. */
  readonly entities: ReadonlyMap<string, EntityData>;
  /** Grants held by the principal or its groups, by scope id (any kind; entries say which). */
  readonly byScope: ReadonlyMap<string, readonly ReadyGrant[]>;
  /** True if two of those grants share an id (never from the store; possible in tests). */
  readonly duplicateIds: boolean;
}

interface SubjectEntry {
  principal: Subject['principal'];
  grants: Subject['grants'];
  grantCount: number;
  groupIds: Subject['groupIds'];
  groupCount: number;
  prepared: PreparedSubject;
}

/**
 * Prepared subjects, by Subject object. A Subject is plain data built per request;
 * INVARIANT: an entry is used only while the subject still holds the same principal,
 * grants and groups arrays with the same lengths (a subject rebuilt or extended gets a
 * new entry), so a decision never sees grants other than the subject's.
 */
export class SubjectCache {
  private readonly entries = new WeakMap<Subject, SubjectEntry>();

  constructor(private readonly instantiate: (templateId: string, linkId: string, slots: LinkSlots) => PolicyInstance) {}

  /** The prepared subject; throws RequestMappingError if it cannot be a request's principal. */
  get(subject: Subject): PreparedSubject {
    const e = this.entries.get(subject);
    if (e !== undefined && e.principal === subject.principal && e.grants === subject.grants && e.grantCount === subject.grants.length && e.groupIds === subject.groupIds && e.groupCount === subject.groupIds.length) {
      return e.prepared;
    }
    const prepared = this.prepare(subject);
    this.entries.set(subject, { principal: subject.principal, grants: subject.grants, grantCount: subject.grants.length, groupIds: subject.groupIds, groupCount: subject.groupIds.length, prepared });
    return prepared;
  }

  private prepare(subject: Subject): PreparedSubject {
    const p = subject.principal;
    let type: string;
    if (p.kind === 'user') type = ENTITY_TYPE.user;
    else if (p.kind === 'service-account') type = ENTITY_TYPE.serviceAccount;
    else throw new RequestMappingError(`principal kind \`${String(p.kind)}\` cannot be the principal of a request`);
    const principal = new EntityUid(type, p.id);
    const entities = new Map<string, EntityData>();
    const groupUids: EntityUid[] = [];
    const groupIds = new Set(subject.groupIds);
    for (const id of groupIds) {
      const g = new EntityUid(ENTITY_TYPE.group, id);
      groupUids.push(g);
      entities.set(g.key, { uid: g, attrs: new Map(), parents: [], tags: null });
    }
    const principalData: EntityData = { uid: principal, attrs: new Map<string, string>([['id', p.id], ['name', p.name]]), parents: groupUids, tags: null };
    entities.set(principal.key, principalData);
    const byScope = new Map<string, ReadyGrant[]>();
    const holders = new Map<string, EntityUid>(groupUids.map((g) => [g.id, g]));
    const ids = new Set<string>();
    let duplicateIds = false;
    for (let index = 0; index < subject.grants.length; index++) {
      const grant = subject.grants[index]!;
      // grants held by anyone other than the subject or its groups could never match
      const holder = grant.principalId === p.id ? principal : holders.get(grant.principalId);
      if (holder === undefined) continue;
      if (ids.has(grant.id)) duplicateIds = true;
      ids.add(grant.id);
      let ready: ReadyGrant;
      try {
        const instance = this.instantiate(grantTemplateId(grant.scopeKind, grant.role), grant.id, { principal: holder, resource: new EntityUid(scopeEntityType(grant.scopeKind), grant.scopeId) });
        ready = { grant, index, instance, error: undefined };
      } catch (err) {
        ready = { grant, index, instance: undefined, error: err as Error };
      }
      const list = byScope.get(grant.scopeId);
      if (list === undefined) byScope.set(grant.scopeId, [ready]);
      else list.push(ready);
    }
    return { principal, principalData, groupKeys: groupUids.map((g) => g.key), entities, byScope, duplicateIds };
  }
}

/**
 * The links of the subject's grants active at `nowMs` on the scopes of a resource chain
 * (version, artifact, project ids; absent ones undefined), each grant once: the same
 * links as grantLinks(subject, now, resource). Throws the link error of a relevant grant.
 */
export function linksOn(prepared: PreparedSubject, chain: { project?: string; artifact?: string; version?: string }, nowMs: number): PolicyInstance[] {
  let relevant: ReadyGrant[] | undefined;
  const add = (kind: ScopeKind, id: string | undefined) => {
    if (id === undefined) return;
    const list = prepared.byScope.get(id);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (r.grant.scopeKind === kind && isGrantActive(r.grant, nowMs)) (relevant ??= []).push(r);
    }
  };
  add('project', chain.project);
  add('artifact', chain.artifact);
  add('version', chain.version);
  if (relevant === undefined) return [];
  // in the subject's order, as grantLinks links them: the first grant of an id wins
  if (prepared.duplicateIds) relevant.sort((a, b) => a.index - b.index);
  const out: PolicyInstance[] = [];
  let seen: Set<string> | undefined;
  for (const r of relevant) {
    if (prepared.duplicateIds) {
      if ((seen ??= new Set()).has(r.grant.id)) continue;
      seen.add(r.grant.id);
    }
    if (r.error !== undefined) throw r.error;
    out.push(r.instance!);
  }
  return out;
}

interface ContextEntry {
  sourceIp: string;
  now: number;
  methods: readonly string[];
  methodsCopy: string[];
  ageSeconds: number;
  managed: boolean;
  deviceId: string;
  localHour: number | undefined;
  localWeekday: string | undefined;
  record: CedarRecord;
}

/**
 * Cedar context records, by RequestContext object, reused while every field the record
 * was built from is unchanged (checked on each use: a context is plain data that a
 * caller may copy and change, never reused stale).
 */
export class ContextCache {
  private readonly entries = new WeakMap<RequestContext, ContextEntry>();

  /** The record of `c`, built by `build` (which may throw) when not cached or changed. */
  get(c: RequestContext, build: (c: RequestContext) => CedarRecord): CedarRecord {
    const e = this.entries.get(c);
    if (
      e !== undefined &&
      e.now === c.now &&
      e.sourceIp === c.sourceIp &&
      e.methods === c.mfa.methods &&
      sameStrings(e.methodsCopy, c.mfa.methods) &&
      e.ageSeconds === c.mfa.ageSeconds &&
      e.managed === c.device.managed &&
      e.deviceId === c.device.id &&
      e.localHour === c.localHour &&
      e.localWeekday === c.localWeekday
    ) {
      return e.record;
    }
    const record = build(c);
    this.entries.set(c, {
      sourceIp: c.sourceIp,
      now: c.now,
      methods: c.mfa.methods,
      methodsCopy: [...c.mfa.methods],
      ageSeconds: c.mfa.ageSeconds,
      managed: c.device.managed,
      deviceId: c.device.id,
      localHour: c.localHour,
      localWeekday: c.localWeekday,
      record,
    });
    return record;
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
