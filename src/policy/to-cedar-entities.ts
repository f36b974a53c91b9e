import type { AccessRequest, RequestContext, ResourceRef } from './policy-engine.js';
import { scanFacts, versionTier } from './version-facts.js';
import { ENTITY_TYPE, SYSTEM_ENTITY_ID, type CedarUid } from './cedar-names.js';
import type { Principal } from '../domain/types.js';
import type { LocalClock } from './local-time.js';
import { localTimeOf, normalizeSourceIp } from './context-facts.js';

/** A Cedar value in Cedar's JSON entity format. */
export type CedarJsonValue =
  | string
  | number
  | boolean
  | CedarJsonValue[]
  | { __extn: { fn: string; arg: string } }
  | { __entity: CedarUid }
  | { [key: string]: CedarJsonValue };

/** An entity in Cedar's JSON entity format. */
export interface CedarEntity {
  uid: CedarUid;
  attrs: Record<string, CedarJsonValue>;
  parents: CedarUid[];
}

/** A request in Cedar's terms: the four request variables and the entities it needs. */
export interface CedarRequest {
  principal: CedarUid;
  action: CedarUid;
  resource: CedarUid;
  context: Record<string, CedarJsonValue>;
  entities: CedarEntity[];
}

/**
 * Thrown (inside policy/ only) when a request cannot be expressed in Cedar terms;
 * engines turn it into a deny with the error listed.
 */
export class RequestMappingError extends Error {}

/** Entity uid of a principal: User or ServiceAccount (groups cannot act). */
export function principalUid(principal: Principal): CedarUid {
  switch (principal.kind) {
    case 'user':
      return { type: ENTITY_TYPE.user, id: principal.id };
    case 'service-account':
      return { type: ENTITY_TYPE.serviceAccount, id: principal.id };
    default:
      throw new RequestMappingError(`principal kind \`${String(principal.kind)}\` cannot be the principal of a request`);
  }
}

/** Entity uid of the resource itself. */
export function resourceUid(resource: ResourceRef): CedarUid {
  switch (resource.kind) {
    case 'system':
      return { type: ENTITY_TYPE.system, id: SYSTEM_ENTITY_ID };
    case 'project':
      return { type: ENTITY_TYPE.project, id: resource.project.id };
    case 'artifact':
      return { type: ENTITY_TYPE.artifact, id: resource.artifact.id };
    case 'version':
      return { type: ENTITY_TYPE.version, id: resource.version.id };
    default:
      throw new RequestMappingError('unknown resource kind');
  }
}

/**
 * The entities of a request: the principal (its parents are all its groups, which the
 * subject lists transitively), the group entities, the resource with its parent chain
 * (version -> artifact -> project) and the System entity.
 * Throws {@link RequestMappingError} if the request is inconsistent (a version whose
 * artifact is not the given artifact, ...).
 */
export function toCedarEntities(request: AccessRequest): CedarEntity[] {
  const { subject, resource } = request;
  const p = subject.principal;
  const groups = [...new Set(subject.groupIds)].map((id) => ({ type: ENTITY_TYPE.group, id }));
  const entities: CedarEntity[] = [
    { uid: principalUid(p), attrs: { id: p.id, name: p.name }, parents: groups },
    ...groups.map((uid) => ({ uid, attrs: {}, parents: [] })),
    { uid: { type: ENTITY_TYPE.system, id: SYSTEM_ENTITY_ID }, attrs: {}, parents: [] },
  ];
  if (resource.kind === 'system') return entities;
  const project = resource.project;
  const projectUid = { type: ENTITY_TYPE.project, id: project.id };
  entities.push({ uid: projectUid, attrs: { name: project.name }, parents: [] });
  if (resource.kind === 'project') return entities;
  const artifact = resource.artifact;
  // INVARIANT: the parent chain given is the real one, else scope inheritance would lie.
  if (artifact.projectId !== project.id) throw new RequestMappingError('artifact does not belong to the given project');
  const artifactUid = { type: ENTITY_TYPE.artifact, id: artifact.id };
  entities.push({
    uid: artifactUid,
    attrs: {
      name: artifact.name,
      tier: artifact.tier,
      environment: artifact.environment,
      kind: artifact.kind,
      owner: artifact.ownerId,
    },
    parents: [projectUid],
  });
  if (resource.kind === 'artifact') return entities;
  const version = resource.version;
  if (version.artifactId !== artifact.id) throw new RequestMappingError('version does not belong to the given artifact');
  entities.push({
    uid: { type: ENTITY_TYPE.version, id: version.id },
    attrs: { number: version.number, tier: versionTier(version, artifact), environment: artifact.environment, kind: artifact.kind, scan: { ...scanFacts(version) } },
    parents: [artifactUid],
  });
  return entities;
}

/**
 * The request context in Cedar's JSON form (`now` as a datetime, `sourceIp` as an
 * ipaddr, the local hour and weekday of `now` on `clock` unless pinned).
 */
export function toCedarContext(context: RequestContext, clock: LocalClock): Record<string, CedarJsonValue> {
  if (!Number.isFinite(context.now)) throw new RequestMappingError('context `now` is not a valid time');
  if (!Number.isSafeInteger(context.mfa.ageSeconds)) throw new RequestMappingError('context `mfa.ageSeconds` is not an integer');
  const local = localTimeOf(context, clock);
  return {
    sourceIp: { __extn: { fn: 'ip', arg: normalizeSourceIp(context.sourceIp) } },
    now: { __extn: { fn: 'datetime', arg: new Date(context.now).toISOString() } },
    localHour: local.hour,
    localWeekday: local.weekday,
    mfa: { methods: [...context.mfa.methods], ageSeconds: context.mfa.ageSeconds },
    device: { managed: context.device.managed, id: context.device.id },
  };
}

/** The whole request in Cedar's terms (`clock`: the organisation's time zone). */
export function toCedarRequest(request: AccessRequest, clock: LocalClock): CedarRequest {
  return {
    principal: principalUid(request.subject.principal),
    action: { type: ENTITY_TYPE.action, id: request.action },
    resource: resourceUid(request.resource),
    context: toCedarContext(request.context, clock),
    entities: toCedarEntities(request),
  };
}
