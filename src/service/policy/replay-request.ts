import type { AuditBodyV1 } from '../../audit/index.js';
import { ENVIRONMENTS, TIERS, type Grant, type Principal } from '../../domain/types.js';
import { ACTIONS, type AccessRequest, type Action, type ResourceRef } from '../../policy/index.js';
import type { ServiceDeps } from '../deps.js';
import { findArtifact, findProject, findVersion } from '../resources.js';

/** Why an audit record could not be replayed as a decision. */
export type SkipReason = 'not-a-decision' | 'no-actor' | 'actor-gone' | 'resource-gone' | 'resource-unknown';

/** Actions whose resource is always the System entity, whatever the record names. */
const SYSTEM_ACTIONS = new Set<string>(['create-project', 'manage-principals', 'rotate-keys', 'read-audit', 'admin', 'read-policy', 'manage-policy']);
const ACTION_SET = new Set<string>(ACTIONS);
/** `project/P`, `project/P/artifact/A`, `project/P/artifact/A@N` or `@latest` (artifact names never hold `@`). */
const CATALOG_NAME = /^project\/([^/]+)(?:\/artifact\/([^@]+?)(?:@(\d{1,10}|latest))?)?$/;

/** The resource with the tier and environment the policy saw, when the record holds them. */
function asRecorded(resource: ResourceRef, ctx: Record<string, unknown>): ResourceRef {
  if (resource.kind !== 'artifact' && resource.kind !== 'version') return resource;
  const tier = TIERS.find((t) => t === ctx.resourceTier) ?? resource.artifact.tier;
  const environment = ENVIRONMENTS.find((e) => e === ctx.resourceEnvironment) ?? resource.artifact.environment;
  return { ...resource, artifact: { ...resource.artifact, tier, environment } };
}

/**
 * Rebuilds the policy request behind an audit record, for impact analysis. The record
 * holds who (actor id), what (action), on what (resource name, with the tier and
 * environment the policy saw), when (time) and from where (source IP, MFA methods and
 * age, managed device); the rest is read from the catalog and grants as they are NOW.
 * Approximations, documented in docs/policy.md:
 * - groups and grants are today's (a grant revoked since no longer counts; grants are
 *   still checked against their expiry at the record's time);
 * - a resource deleted since cannot be replayed (`resource-gone`); `@latest` is
 *   today's latest version;
 * - records written before tier, environment and MFA age were recorded replay today's
 *   tier and environment and an MFA age of 0 (a fresh factor);
 * - the local hour and weekday come from the record's time in today's time zone.
 * Caches principals and resources across records.
 */
export class RequestReplayer {
  private readonly subjects = new Map<string, Promise<{ principal: Principal; groupIds: string[]; grants: Grant[] } | null>>();
  private readonly resources = new Map<string, Promise<ResourceRef | null>>();

  constructor(private readonly deps: ServiceDeps) {}

  /** The request of `body`, or why there is none. */
  async replay(body: AuditBodyV1): Promise<{ request: AccessRequest } | { skip: SkipReason }> {
    // `attempt` and `denied` records are the decisions; `success`/`failure` repeat an attempt
    if ((body.outcome !== 'attempt' && body.outcome !== 'denied') || !ACTION_SET.has(body.action)) return { skip: 'not-a-decision' };
    if (body.actor === null) return { skip: 'no-actor' };
    const action = body.action as Action;
    let subjectP = this.subjects.get(body.actor.id);
    if (subjectP === undefined) this.subjects.set(body.actor.id, (subjectP = this.subject(body.actor.id)));
    const subject = await subjectP;
    if (subject === null) return { skip: 'actor-gone' };
    const key = `${SYSTEM_ACTIONS.has(action) ? 'system' : action === 'create-artifact' ? 'project-of' : action === 'upload' ? 'upload' : 'exact'}\u0000${body.resource}`;
    let resourceP = this.resources.get(key);
    if (resourceP === undefined) this.resources.set(key, (resourceP = this.resource(action, body.resource)));
    const resource = await resourceP;
    if (resource === null) return { skip: CATALOG_NAME.test(body.resource) ? 'resource-gone' : 'resource-unknown' };
    const ctx = body.context;
    const methods = Array.isArray(ctx.mfa) ? ctx.mfa.filter((m): m is string => typeof m === 'string') : [];
    const age = ctx.mfaAgeSeconds;
    return {
      request: {
        subject,
        action,
        resource: asRecorded(resource, ctx),
        context: {
          sourceIp: typeof ctx.sourceIp === 'string' ? ctx.sourceIp : '0.0.0.0',
          now: body.time,
          // records written before the age was recorded: a fresh factor
          mfa: { methods, ageSeconds: typeof age === 'number' && Number.isSafeInteger(age) && age >= 0 ? age : 0 },
          device: { managed: ctx.deviceManaged === true, id: '' },
        },
      },
    };
  }

  private async subject(id: string): Promise<{ principal: Principal; groupIds: string[]; grants: Grant[] } | null> {
    const principal = await this.deps.store.getPrincipal(id);
    if (principal === null || principal.kind === 'group') return null;
    const groups = new Set<string>();
    let frontier = [id];
    for (let depth = 0; depth < 16 && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const m of frontier) {
        for (const g of await this.deps.store.listGroupsOf(m)) {
          if (groups.has(g) || g === id) continue;
          groups.add(g);
          next.push(g);
        }
      }
      frontier = next;
    }
    const groupIds = [...groups];
    return { principal, groupIds, grants: await this.deps.store.listGrantsForPrincipals([id, ...groupIds]) };
  }

  private async resource(action: Action, name: string): Promise<ResourceRef | null> {
    if (SYSTEM_ACTIONS.has(action)) return { kind: 'system' };
    const m = CATALOG_NAME.exec(name);
    if (m === null) return action === 'read-metadata' ? { kind: 'system' } : null;
    const [, projectName, artifactName, versionNumber] = m;
    if (artifactName === undefined || action === 'create-artifact') {
      const project = await findProject(this.deps, projectName!);
      return project === null ? null : { kind: 'project', project };
    }
    if (versionNumber !== undefined) {
      const found = await findVersion(this.deps, projectName!, artifactName, versionNumber === 'latest' ? 'latest' : Number(versionNumber));
      if (found !== null) return { kind: 'version', ...found };
      // an upload is decided on the artifact the version is added to
      if (action !== 'upload') return null;
    }
    const found = await findArtifact(this.deps, projectName!, artifactName);
    return found === null ? null : { kind: 'artifact', ...found };
  }
}
