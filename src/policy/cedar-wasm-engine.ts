import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { AccessRequest, Decision, PolicyEngine } from './policy-engine.js';
import { loadPolicySet, type PolicySource, type ValidatedPolicySet } from './load-policy-set.js';
import { readBaselinePack, readSchemaText } from './policy-files.js';
import { adminLinks, grantLinks, type TemplateLink } from './grant-links.js';
import { toCedarRequest } from './to-cedar-entities.js';
import { PolicyInvalidError } from '../domain/errors.js';
import { LocalClock } from './local-time.js';

/** Options shared by Coffer's policy engines. */
export interface PolicyEngineOptions {
  /**
   * Principal id of the administrators group (the group named `admins`); its members
   * get the admin rules of baseline/admins.cedar. Null or absent: nobody is an admin.
   */
  adminGroupId?: string | null;
  /** Policy sources to load instead of the baseline pack (custom packs, tests). */
  policies?: readonly PolicySource[];
  /** Schema text to use instead of src/policy/schema.cedarschema. */
  schema?: string;
  /** IANA time zone of `context.localHour`/`localWeekday` (configuration key `timeZone`). Default UTC. */
  timeZone?: string;
}

/** Options of {@link CedarWasmEngine}. */
export interface CedarWasmEngineOptions extends PolicyEngineOptions {
  /** How many preparsed policy sets (one per distinct set of relevant grants) to keep. Default 256. */
  cacheSize?: number;
}

let instances = 0;

/**
 * The reference policy decision point: the official Cedar engine (cedar-wasm), with the
 * schema and the policy set preparsed once. Grants become template links; a request
 * links only the subject's active grants whose scope is on the resource's parent
 * chain, and the policy set with those links is preparsed once and kept (LRU).
 * Fails closed: any policy error, or any request that does not fit the schema, denies.
 */
export class CedarWasmEngine implements PolicyEngine {
  /** The validated policy set in force. */
  readonly policySet: ValidatedPolicySet;
  private readonly prefix = `coffer-${++instances}`;
  private readonly schemaName: string;
  private readonly cacheSize: number;
  private adminGroupId: string | null;
  /** Link key -> preparsed policy set id, in least-recently-used order. */
  private readonly cache = new Map<string, string>();
  private readonly freeSlots: string[] = [];
  private readonly clock: LocalClock;

  /** Throws {@link PolicyInvalidError} (with line and column) if a policy fails strict validation. */
  constructor(options: CedarWasmEngineOptions = {}) {
    this.policySet = loadPolicySet(options.schema ?? readSchemaText(), options.policies ?? readBaselinePack());
    this.adminGroupId = options.adminGroupId ?? null;
    this.clock = new LocalClock(options.timeZone ?? 'UTC');
    this.cacheSize = Math.max(1, options.cacheSize ?? 256);
    this.schemaName = `${this.prefix}-schema`;
    const answer = cedar.preparseSchema(this.schemaName, this.policySet.schemaText);
    if (answer.type === 'failure') throw new PolicyInvalidError('schema is not valid', { detail: answer.errors.map((e) => e.message).join('\n') });
    for (let i = 0; i < this.cacheSize; i++) this.freeSlots.push(`${this.prefix}-set-${i}`);
    // Fail at construction, not on the first request, if the admin links do not fit.
    this.preparsed([]);
  }

  /** Changes the administrators group (for example once setup has created it). */
  setAdminGroupId(adminGroupId: string | null): void {
    this.adminGroupId = adminGroupId;
    for (const slot of this.cache.values()) this.freeSlots.push(slot);
    this.cache.clear();
    this.preparsed([]);
  }

  authorize(request: AccessRequest): Decision {
    let answer: cedar.AuthorizationAnswer;
    try {
      const req = toCedarRequest(request, this.clock);
      const setId = this.preparsed(grantLinks(request.subject, request.context.now, request.resource));
      answer = cedar.statefulIsAuthorized({
        principal: req.principal,
        action: req.action,
        resource: req.resource,
        context: req.context,
        preparsedSchemaName: this.schemaName,
        // Unknown entity types, attributes or context fields are errors, never allows.
        validateRequest: true,
        preparsedPolicySetId: setId,
        entities: req.entities,
      });
    } catch (err) {
      return { allowed: false, determining: [], errors: [`request: ${err instanceof Error ? err.message : String(err)}`] };
    }
    if (answer.type === 'failure') {
      return { allowed: false, determining: [], errors: answer.errors.map((e) => `request: ${e.message}`) };
    }
    const { decision, diagnostics } = answer.response;
    const errors = [...new Set(diagnostics.errors.map((e) => e.policyId))].sort();
    // Fail closed: Cedar skips a policy that errors (even a forbid) and may allow; we deny.
    if (errors.length > 0) return { allowed: false, determining: [], errors };
    return { allowed: decision === 'allow', determining: [...diagnostics.reason].sort(), errors: [] };
  }

  /** Id of the preparsed policy set holding the baseline, the admin links and `links`. */
  private preparsed(links: TemplateLink[]): string {
    const key = links
      .map((l) => `${l.linkId}\u0000${l.templateId}\u0000${l.principal.type}\u0000${l.principal.id}\u0000${l.resource?.type ?? ''}\u0000${l.resource?.id ?? ''}`)
      .sort()
      .join('\u0001');
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      const [oldestKey, oldestSlot] = this.cache.entries().next().value as [string, string];
      this.cache.delete(oldestKey);
      slot = oldestSlot;
    }
    const templateIds = new Set(this.policySet.templates.map((t) => t.id));
    const all = [...adminLinks(this.adminGroupId).filter((l) => templateIds.has(l.templateId)), ...links];
    const answer = cedar.preparsePolicySet(slot, {
      staticPolicies: Object.fromEntries(this.policySet.policies.map((p) => [p.id, p.text])),
      templates: Object.fromEntries(this.policySet.templates.map((t) => [t.id, t.text])),
      templateLinks: all.map((l) => ({
        templateId: l.templateId,
        newId: l.linkId,
        values: slotValues(l),
      })),
    });
    if (answer.type === 'failure') {
      this.freeSlots.push(slot);
      throw new PolicyInvalidError('policy set with grant links is not valid', { detail: answer.errors.map((e) => e.message).join('\n') });
    }
    this.cache.set(key, slot);
    return slot;
  }
}

function slotValues(link: TemplateLink): Record<string, cedar.EntityUid> {
  const values: Record<string, cedar.EntityUid> = { '?principal': link.principal };
  if (link.resource !== undefined) values['?resource'] = link.resource;
  return values;
}
