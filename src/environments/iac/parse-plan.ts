import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { IacPlanInvalidError } from '../../domain/errors.js';
import { isJsonObject, parseBoundedJson } from './bounded-json.js';
import type { JsonLimits, JsonObject, JsonValue } from './bounded-json.js';
import { PLAN_SCHEMA } from './plan-schema.js';

/** What Terraform will do to a resource instance, from the plan's `actions`. */
export type ChangeKind = 'create' | 'update' | 'replace' | 'delete' | 'no-op' | 'read' | 'forget';

/** One resource instance of a plan (or of a state), normalized. */
export interface PlanResource {
  /** Absolute address, e.g. `module.ml.aws_s3_bucket.data[0]`. */
  address: string;
  /** Module part of the address (`module.ml`), `''` in the root module. */
  moduleAddress: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  /** `count` or `for_each` key, null for a single instance. */
  index: string | number | null;
  providerName: string;
  /** The plan's actions verbatim (`["delete","create"]`...). */
  actions: string[];
  change: ChangeKind;
  before: JsonObject | null;
  after: JsonObject | null;
  /** Mirror of `after` with `true` where the value is known only after apply (or `true` for all of it). */
  afterUnknown: JsonValue;
  /** Mirror of `after` with `true` where the value is sensitive. */
  afterSensitive: JsonValue;
  /** Set when the change is to a deposed object (an old object of a create-before-destroy replacement). */
  deposed: string | null;
  /** Where the plan described the instance. */
  origin: 'resource_changes' | 'planned_values' | 'prior_state' | 'state';
  /** The resource block's expressions from `configuration` (block-expressions representation), or null. */
  config: JsonObject | null;
}

/** A Terraform plan or state, as the checker sees it. */
export interface Plan {
  kind: 'plan' | 'state';
  formatVersion: string;
  terraformVersion: string | null;
  resources: PlanResource[];
  /** True when the plan carried a `configuration` (references between resources are then exact). */
  hasConfiguration: boolean;
}

/** Default limits for a plan: 128 MiB of text, 256 levels of nesting. */
export const DEFAULT_PLAN_LIMITS: JsonLimits = { maxLength: 128 * 1024 * 1024, maxDepth: 256 };

let validatePlan: ValidateFunction | undefined;

/**
 * Parses the JSON of `terraform show -json` (a plan, or a state) into a {@link Plan}.
 * The input is untrusted: it is size- and depth-limited, then its shape is checked
 * against {@link PLAN_SCHEMA}; any problem is one {@link IacPlanInvalidError} naming
 * where it is. Only major format versions 0 and 1 are accepted, as the format asks.
 */
export function parsePlan(text: string, limits: JsonLimits = DEFAULT_PLAN_LIMITS): Plan {
  const doc = parseBoundedJson(text, limits, 'plan');
  return planFromJson(doc);
}

/** Same as {@link parsePlan} on an already parsed document (it must still be within the depth limit). */
export function planFromJson(doc: JsonValue): Plan {
  validatePlan ??= new Ajv({ allErrors: false, strict: false }).compile(PLAN_SCHEMA);
  if (!isJsonObject(doc)) throw new IacPlanInvalidError('plan is not valid: the top level is not a JSON object');
  if (!validatePlan(doc)) {
    const e = validatePlan.errors?.[0];
    throw new IacPlanInvalidError(`plan is not valid: \`${e?.instancePath || '/'}\` ${e?.message ?? 'has the wrong shape'}`);
  }
  const formatVersion = doc.format_version as string;
  const major = Number(formatVersion.split('.')[0]);
  if (major > 1) throw new IacPlanInvalidError(`plan format_version \`${formatVersion}\` is not supported (major versions 0 and 1 are)`);
  const terraformVersion = typeof doc.terraform_version === 'string' ? doc.terraform_version : null;
  const isPlan = Array.isArray(doc.resource_changes) || isJsonObject(doc.planned_values);
  const isState = !isPlan && isJsonObject(doc.values);
  if (!isPlan && !isState) throw new IacPlanInvalidError('plan is not valid: it has neither `resource_changes`, `planned_values` nor `values`');

  const configRoot = isJsonObject(doc.configuration) && isJsonObject(doc.configuration.root_module) ? doc.configuration.root_module : null;
  const configIndex = new ConfigIndex(configRoot);
  const configOf = (moduleAddress: string, mode: string, type: string, name: string) => configIndex.find(moduleAddress, mode, type, name);
  const resources: PlanResource[] = [];
  const seen = new Set<string>();

  if (isState) {
    for (const r of walkValues(doc.values as JsonObject)) {
      seen.add(r.address);
      resources.push(fromValues(r, 'state', configOf));
    }
    return { kind: 'state', formatVersion, terraformVersion, resources, hasConfiguration: configRoot !== null };
  }
  for (const rc of (doc.resource_changes ?? []) as JsonObject[]) {
    const ch = rc.change as JsonObject;
    const actions = ch.actions as string[];
    const moduleAddress = typeof rc.module_address === 'string' ? rc.module_address : '';
    const deposed = typeof rc.deposed === 'string' ? rc.deposed : null;
    if (deposed === null) seen.add(rc.address as string);
    resources.push({
      address: rc.address as string,
      moduleAddress,
      mode: rc.mode as 'managed' | 'data',
      type: rc.type as string,
      name: rc.name as string,
      index: (rc.index as string | number | undefined) ?? null,
      providerName: typeof rc.provider_name === 'string' ? rc.provider_name : '',
      actions,
      change: changeKind(actions, rc.address as string),
      before: isJsonObject(ch.before) ? ch.before : null,
      after: isJsonObject(ch.after) ? ch.after : null,
      afterUnknown: ch.after_unknown ?? null,
      afterSensitive: ch.after_sensitive ?? null,
      deposed,
      origin: 'resource_changes',
      config: configOf(moduleAddress, rc.mode as string, rc.type as string, rc.name as string),
    });
  }
  // resources the plan describes only in planned_values (older producers), then the
  // data sources read during planning, which live only in prior_state
  const extra: [JsonValue | undefined, PlanResource['origin']][] = [
    [doc.planned_values, 'planned_values'],
    [isJsonObject(doc.prior_state) ? doc.prior_state.values : undefined, 'prior_state'],
  ];
  for (const [values, origin] of extra) {
    if (!isJsonObject(values)) continue;
    for (const r of walkValues(values)) {
      if (seen.has(r.address)) continue;
      seen.add(r.address);
      resources.push(fromValues(r, origin, configOf));
    }
  }
  return { kind: 'plan', formatVersion, terraformVersion, resources, hasConfiguration: configRoot !== null };
}

/** True when the instance exists once the plan is applied (not destroyed, not a deposed object). */
export function existsAfterApply(r: PlanResource): boolean {
  return r.deposed === null && r.change !== 'delete' && r.change !== 'forget';
}

function changeKind(actions: string[], address: string): ChangeKind {
  const key = actions.join(',');
  switch (key) {
    case 'no-op':
    case 'create':
    case 'read':
    case 'update':
    case 'delete':
    case 'forget':
      return key;
    case 'delete,create':
    case 'create,delete':
      return 'replace';
    default:
      throw new IacPlanInvalidError(`plan is not valid: \`${address}\` has the unknown actions \`${JSON.stringify(actions)}\``);
  }
}

interface ValuesEntry {
  address: string;
  moduleAddress: string;
  r: JsonObject;
}

/** Every resource of a values representation, with the address of its module. */
function* walkValues(values: JsonObject): Generator<ValuesEntry> {
  if (!isJsonObject(values.root_module)) return;
  // explicit stack: module trees are bounded by the depth limit, but stay iterative anyway
  const stack: [JsonObject, string][] = [[values.root_module, '']];
  while (stack.length > 0) {
    const [mod, moduleAddress] = stack.pop()!;
    for (const r of (mod.resources ?? []) as JsonObject[]) yield { address: r.address as string, moduleAddress, r };
    for (const child of (mod.child_modules ?? []) as JsonObject[]) stack.push([child, typeof child.address === 'string' ? child.address : moduleAddress]);
  }
}

function fromValues(e: ValuesEntry, origin: PlanResource['origin'], configOf: (m: string, mode: string, t: string, n: string) => JsonObject | null): PlanResource {
  const values = isJsonObject(e.r.values) ? e.r.values : {};
  const unchanged = origin === 'prior_state' || origin === 'state';
  return {
    address: e.address,
    moduleAddress: e.moduleAddress,
    mode: e.r.mode as 'managed' | 'data',
    type: e.r.type as string,
    name: e.r.name as string,
    index: (e.r.index as string | number | undefined) ?? null,
    providerName: typeof e.r.provider_name === 'string' ? e.r.provider_name : '',
    actions: ['no-op'],
    change: 'no-op',
    before: unchanged ? values : null,
    after: values,
    afterUnknown: null,
    afterSensitive: e.r.sensitive_values ?? null,
    deposed: null,
    origin,
    config: configOf(e.moduleAddress, e.r.mode as string, e.r.type as string, e.r.name as string),
  };
}

/** The module call names of a module address: `module.a[0].module.b["x"]` -> `["a", "b"]`. */
export function moduleCallPath(moduleAddress: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < moduleAddress.length) {
    if (!moduleAddress.startsWith('module.', i)) return out;
    i += 7;
    let name = '';
    while (i < moduleAddress.length && moduleAddress[i] !== '.' && moduleAddress[i] !== '[') name += moduleAddress[i++];
    out.push(name);
    if (moduleAddress[i] === '[') i = skipIndex(moduleAddress, i);
    if (moduleAddress[i] === '.') i++;
  }
  return out;
}

/** Index just past a `[...]` instance key starting at `i` (string keys may hold `]`). */
export function skipIndex(s: string, i: number): number {
  let inString = false;
  for (i++; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ']') return i + 1;
  }
  return i;
}

/**
 * The configuration's resource blocks, indexed by module call path and address, built on
 * first use per module (a linear search per resource would make big plans quadratic).
 */
class ConfigIndex {
  private readonly modules = new Map<string, Map<string, JsonObject> | null>();

  constructor(private readonly root: JsonObject | null) {}

  find(moduleAddress: string, mode: string, type: string, name: string): JsonObject | null {
    const path = moduleCallPath(moduleAddress);
    const key = path.join('\u0000');
    let index = this.modules.get(key);
    if (index === undefined) {
      index = this.build(path);
      this.modules.set(key, index);
    }
    return index?.get(`${mode}\u0000${type}\u0000${name}`) ?? null;
  }

  private build(path: string[]): Map<string, JsonObject> | null {
    let mod: JsonValue | undefined = this.root;
    for (const call of path) {
      if (!isJsonObject(mod) || !isJsonObject(mod.module_calls)) return null;
      const c: JsonValue | undefined = mod.module_calls[call];
      mod = isJsonObject(c) ? c.module : undefined;
    }
    if (!isJsonObject(mod) || !Array.isArray(mod.resources)) return null;
    const index = new Map<string, JsonObject>();
    for (const r of mod.resources as JsonObject[]) {
      const k = `${r.mode as string}\u0000${r.type as string}\u0000${r.name as string}`;
      if (!index.has(k)) index.set(k, isJsonObject(r.expressions) ? r.expressions : {});
    }
    return index;
  }
}
