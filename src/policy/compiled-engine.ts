import type { AccessRequest, Action, Decision, ListingPlan, PolicyEngine, RequestContext, Subject } from './policy-engine.js';
import { scanFacts, versionTier } from './version-facts.js';
import { listingPlan } from './listing-plan.js';
import type { PolicyEngineOptions } from './cedar-wasm-engine.js';
import { loadPolicySet, type ValidatedPolicySet } from './load-policy-set.js';
import { readBaselinePack, readSchemaText } from './policy-files.js';
import { adminLinks } from './grant-links.js';
import { ContextCache, SubjectCache, linksOn, type PreparedSubject } from './prepared-request.js';
import { ENTITY_TYPE, SYSTEM_ENTITY_ID } from './cedar-names.js';
import { RequestMappingError } from './to-cedar-entities.js';
import { LocalClock } from './local-time.js';
import { localTimeOf, normalizeSourceIp } from './context-facts.js';
import { PolicyInvalidError } from '../domain/errors.js';
import { CompiledPolicySet } from './compiled/compiled-policy-set.js';
import { CompileError, type Env } from './compiled/compile-expr.js';
import type { EntityData, EntityLookup } from './compiled/entity-store.js';
import { exactPolicyJson } from './compiled/long-literals.js';
import { CedarSchema, SchemaError, type ActionDef } from './compiled/schema.js';
import { parseIp } from './compiled/extensions.js';
import { CedarEvalError, CedarSet, DateTime, EntityUid, type CedarRecord, type Value } from './compiled/values.js';
import type { PolicyInstance } from './compiled/policy-index.js';

/** Smallest and largest epoch ms whose ISO form Cedar's `datetime` accepts (years 0000 to 9999). */
const MIN_DATETIME_MS = -62167219200000;
const MAX_DATETIME_MS = 253402300799999;

const EMPTY: readonly string[] = [];

/**
 * The entities of one request, built straight from the AccessRequest (no JSON): the
 * principal in its groups (given transitively, prepared once per subject), the resource
 * chain and the System entity, and the schema's actions with their precomputed ancestor
 * closure.
 */
class RequestEntities implements EntityLookup {
  constructor(
    private readonly subject: PreparedSubject,
    /** System, then project, artifact and version as far as the resource goes. */
    private readonly chain: readonly EntityData[],
    /** Ancestor keys of each chain entity. */
    private readonly chainAncestors: readonly (readonly string[])[],
    private readonly actionClosure: ReadonlyMap<string, ReadonlySet<string>>,
    private readonly actionLists: ReadonlyMap<string, readonly string[]>,
  ) {}
  get(uid: EntityUid): EntityData | undefined {
    const chain = this.chain;
    const key = uid.key;
    for (let i = 0; i < chain.length; i++) if (chain[i]!.uid.key === key) return chain[i];
    return this.subject.entities.get(key);
  }
  isIn(descendant: EntityUid, ancestor: EntityUid): boolean {
    if (descendant.key === ancestor.key) return true;
    const a = this.actionClosure.get(descendant.key);
    if (a !== undefined) return a.has(ancestor.key);
    return this.ancestorList(descendant).includes(ancestor.key);
  }
  ancestorList(uid: EntityUid): readonly string[] {
    const key = uid.key;
    const a = this.actionLists.get(key);
    if (a !== undefined) return a;
    if (key === this.subject.principal.key) return this.subject.groupKeys;
    const chain = this.chain;
    for (let i = 0; i < chain.length; i++) if (chain[i]!.uid.key === key) return this.chainAncestors[i]!;
    return EMPTY;
  }
}

/**
 * Coffer's own policy decision point: the same schema, policies, entity mapping and
 * grant links as {@link CedarWasmEngine}, evaluated by the compiled evaluator (Cedar's
 * JSON policy form compiled to closures, indexed by action, principal and resource).
 * cedar-wasm is still used at construction, to parse and strictly validate the
 * policies. Fails closed exactly as CedarWasmEngine does, with the same decisions,
 * determining ids and erroring policy ids (checked by differential tests).
 */
export class CompiledEngine implements PolicyEngine {
  /** The validated policy set in force. */
  readonly policySet: ValidatedPolicySet;
  private readonly compiled: CompiledPolicySet;
  private readonly schema: CedarSchema;
  private readonly actionClosure = new Map<string, ReadonlySet<string>>();
  private readonly actionLists = new Map<string, readonly string[]>();
  private readonly actionEntities = new Map<string, EntityData>();
  private readonly actionUids = new Map<string, EntityUid>();
  private readonly systemUid = new EntityUid(ENTITY_TYPE.system, SYSTEM_ENTITY_ID);
  private adminGroupId: string | null = null;
  private readonly clock: LocalClock;
  private readonly subjects: SubjectCache;
  private readonly contexts = new ContextCache();
  private readonly systemData: EntityData = { uid: this.systemUid, attrs: new Map(), parents: [], tags: null };

  /** Throws {@link PolicyInvalidError} (with line and column) if a policy fails strict validation. */
  constructor(options: PolicyEngineOptions = {}) {
    this.policySet = loadPolicySet(options.schema ?? readSchemaText(), options.policies ?? readBaselinePack());
    this.clock = new LocalClock(options.timeZone ?? 'UTC');
    try {
      this.schema = CedarSchema.parse(this.policySet.schemaText);
      this.compiled = new CompiledPolicySet([
        ...this.policySet.policies.map((p) => ({ id: p.id, kind: 'policy' as const, json: exactPolicyJson(p.json, p.text, 'policy') })),
        ...this.policySet.templates.map((t) => ({ id: t.id, kind: 'template' as const, json: exactPolicyJson(t.json, t.text, 'template') })),
      ]);
    } catch (err) {
      if (err instanceof CompileError || err instanceof SchemaError) throw new PolicyInvalidError(`policy set is not valid: ${err.message}`);
      throw err;
    }
    for (const action of this.schema.actions.values()) {
      this.actionUids.set(action.uid.id, action.uid);
      this.actionEntities.set(action.uid.key, { uid: action.uid, attrs: new Map(), parents: action.parents, tags: null });
    }
    for (const action of this.schema.actions.values()) {
      const closure = this.closureOf(action);
      this.actionClosure.set(action.uid.key, closure);
      this.actionLists.set(action.uid.key, [...closure]);
    }
    this.subjects = new SubjectCache((templateId, linkId, slots) => this.compiled.instantiate(templateId, linkId, slots));
    this.setAdminGroupId(options.adminGroupId ?? null);
  }

  /** Changes the administrators group (for example once setup has created it). */
  setAdminGroupId(adminGroupId: string | null): void {
    for (const l of adminLinks(this.adminGroupId)) this.compiled.unlink(l.linkId);
    this.adminGroupId = adminGroupId;
    for (const l of adminLinks(adminGroupId)) {
      if (!this.compiled.hasTemplate(l.templateId)) continue;
      this.compiled.link(l.templateId, l.linkId, { principal: new EntityUid(l.principal.type, l.principal.id) });
    }
  }

  authorize(request: AccessRequest): Decision {
    let env: Env;
    let extra: PolicyInstance[];
    try {
      ({ env, extra } = this.requestOf(request));
    } catch (err) {
      if (err instanceof RequestMappingError || err instanceof CedarEvalError || err instanceof CompileError) {
        return { allowed: false, determining: [], errors: [`request: ${err.message}`] };
      }
      throw err;
    }
    const result = this.compiled.authorize(env, extra);
    // Fail closed: Cedar skips a policy that errors (even a forbid) and may allow; we deny.
    if (result.errors.length > 0) {
      return { allowed: false, determining: [], errors: [...new Set(result.errors.map((e) => e.policyId))] };
    }
    return { allowed: result.decision === 'allow', determining: result.reasons, errors: [] };
  }

  /**
   * The decision of {@link authorize} with the evaluation error message of each
   * erroring policy (Cedar's message), for explanations. Never throws.
   */
  diagnose(request: AccessRequest): { decision: Decision; messages: Record<string, string>; permits: string[]; forbids: string[] } {
    let env: Env;
    let extra: PolicyInstance[];
    try {
      ({ env, extra } = this.requestOf(request));
    } catch (err) {
      if (err instanceof RequestMappingError || err instanceof CedarEvalError || err instanceof CompileError) {
        return { decision: { allowed: false, determining: [], errors: [`request: ${err.message}`] }, messages: { request: err.message }, permits: [], forbids: [] };
      }
      throw err;
    }
    const all = this.compiled.evaluateAll(env, extra);
    const messages: Record<string, string> = {};
    for (const e of all.errors.sort((a, b) => (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0))) messages[e.policyId] ??= e.message;
    const facts = { messages, permits: all.permits, forbids: all.forbids };
    if (all.errors.length > 0) return { decision: { allowed: false, determining: [], errors: Object.keys(messages) }, ...facts };
    if (all.forbids.length > 0) return { decision: { allowed: false, determining: all.forbids, errors: [] }, ...facts };
    return { decision: { allowed: all.permits.length > 0, determining: all.permits, errors: [] }, ...facts };
  }

  /** Where `action` may be allowed to `subject` (see ListingPlan): from the permits and the subject's grants. */
  listingPlan(subject: Subject, action: Action, nowMs: number): ListingPlan {
    return listingPlan(this.compiled, (a, g) => this.actionIn(a, g), subject, action, nowMs);
  }

  /** True if action `action` is action `group` or one of its members (role action groups of the schema). */
  actionIn(action: string, group: string): boolean {
    const a = this.actionUids.get(action);
    const g = this.actionUids.get(group);
    if (a === undefined || g === undefined) return false;
    return a.key === g.key || (this.actionClosure.get(a.key)?.has(g.key) ?? false);
  }

  /** The administrators group the admin templates are linked to (null: none). */
  get adminGroup(): string | null {
    return this.adminGroupId;
  }

  private closureOf(action: ActionDef): ReadonlySet<string> {
    const out = new Set<string>();
    const stack = [...action.parents];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (out.has(p.key)) continue;
      out.add(p.key);
      const def = this.schema.actions.get(p.key);
      if (def !== undefined) stack.push(...def.parents);
    }
    return out;
  }

  /**
   * The request in evaluator terms, validated as cedar-wasm validates requests against
   * the schema, and the links of the subject's grants that may apply to its resource.
   */
  private requestOf(request: AccessRequest): { env: Env; extra: PolicyInstance[] } {
    const { subject, resource } = request;
    const prepared = this.subjects.get(subject);
    const action = this.actionUids.get(request.action);
    if (action === undefined) throw new RequestMappingError(`action \`${String(request.action)}\` is not declared in the schema`);

    const chain: EntityData[] = [this.systemData];
    const chainAncestors: (readonly string[])[] = [EMPTY];
    const ids: { project?: string; artifact?: string; version?: string } = {};
    let target: EntityUid;
    if (resource.kind === 'system') {
      target = this.systemUid;
    } else {
      const project = new EntityUid(ENTITY_TYPE.project, resource.project.id);
      chain.push({ uid: project, attrs: new Map([['name', resource.project.name]]), parents: [], tags: null });
      chainAncestors.push(EMPTY);
      ids.project = resource.project.id;
      target = project;
      if (resource.kind !== 'project') {
        const a = resource.artifact;
        // INVARIANT: the parent chain given is the real one, else scope inheritance would lie.
        if (a.projectId !== resource.project.id) throw new RequestMappingError('artifact does not belong to the given project');
        const artifact = new EntityUid(ENTITY_TYPE.artifact, a.id);
        const attrs: CedarRecord = new Map<string, string>([
          ['name', a.name],
          ['tier', a.tier],
          ['environment', a.environment],
          ['kind', a.kind],
          ['owner', a.ownerId],
        ]);
        const up = [project.key];
        chain.push({ uid: artifact, attrs, parents: [project], tags: null });
        chainAncestors.push(up);
        ids.artifact = a.id;
        target = artifact;
        if (resource.kind === 'version') {
          const v = resource.version;
          if (v.artifactId !== a.id) throw new RequestMappingError('version does not belong to the given artifact');
          if (!Number.isSafeInteger(v.number)) throw new RequestMappingError('version number is not an integer');
          const version = new EntityUid(ENTITY_TYPE.version, v.id);
          const scan = scanFacts(v);
          const vattrs: CedarRecord = new Map<string, Value>([
            ['number', v.number],
            ['tier', versionTier(v, a)],
            ['environment', a.environment],
            ['kind', a.kind],
            [
              'scan',
              new Map<string, Value>([
                ['state', scan.state],
                ['unsafeCode', scan.unsafeCode],
                ['secrets', scan.secrets],
                ['pii', scan.pii],
                ['excepted', scan.excepted],
              ]),
            ],
          ]);
          chain.push({ uid: version, attrs: vattrs, parents: [artifact], tags: null });
          chainAncestors.push([artifact.key, project.key]);
          ids.version = v.id;
          target = version;
        }
      }
    }
    const principalType = prepared.principal.type;
    const def = this.schema.actions.get(action.key);
    const applies = def?.appliesTo;
    if (applies == null || !applies.principals.has(principalType) || !applies.resources.has(target.type)) {
      throw new RequestMappingError(`action \`${request.action}\` does not apply to a \`${target.type}\` by a \`${principalType}\``);
    }
    const env: Env = {
      principal: prepared.principal,
      action,
      resource: target,
      context: this.contexts.get(request.context, (c) => this.buildContext(c)),
      entities: new RequestEntities(prepared, chain, chainAncestors, this.actionClosure, this.actionLists),
      slotPrincipal: undefined,
      slotResource: undefined,
    };
    return { env, extra: linksOn(prepared, ids, request.context.now) };
  }

  private buildContext(c: RequestContext): CedarRecord {
    if (!Number.isFinite(c.now)) throw new RequestMappingError('context `now` is not a valid time');
    const now = Math.trunc(c.now);
    if (now < MIN_DATETIME_MS || now > MAX_DATETIME_MS) throw new RequestMappingError('context `now` is out of range');
    if (!Number.isSafeInteger(c.mfa.ageSeconds)) throw new RequestMappingError('context `mfa.ageSeconds` is not an integer');
    if (!Array.isArray(c.mfa.methods) || !c.mfa.methods.every((m) => typeof m === 'string')) throw new RequestMappingError('context `mfa.methods` is not a list of strings');
    if (typeof c.device.managed !== 'boolean' || typeof c.device.id !== 'string' || typeof c.sourceIp !== 'string') {
      throw new RequestMappingError('context does not fit the schema');
    }
    const local = localTimeOf(c, this.clock);
    const ctx: CedarRecord = new Map();
    ctx.set('sourceIp', parseIp(normalizeSourceIp(c.sourceIp)));
    ctx.set('now', new DateTime(now));
    ctx.set('localHour', local.hour);
    ctx.set('localWeekday', local.weekday);
    ctx.set('mfa', new Map<string, CedarSet | number>([['methods', CedarSet.of(c.mfa.methods)], ['ageSeconds', c.mfa.ageSeconds === 0 ? 0 : c.mfa.ageSeconds]]));
    ctx.set('device', new Map<string, boolean | string>([['managed', c.device.managed], ['id', c.device.id]]));
    return ctx;
  }
}
