import { isJsonObject } from './bounded-json.js';
import type { JsonObject, JsonValue } from './bounded-json.js';
import { existsAfterApply, skipIndex } from './parse-plan.js';
import type { PlanResource } from './parse-plan.js';

/** Attributes that name another resource (`bucket`, `security_group_id`, `vpc_security_group_ids`...). */
const LINK_KEY = /^(bucket|network|subnetwork|target_resource_id)$|_(bucket|id|ids|name|arn|arns|groups|network)$|^security_groups$/;
/** Attributes that identify a resource, which link attributes hold. */
const IDENTITY_KEYS = ['id', 'arn', 'bucket', 'name', 'self_link'] as const;
/**
 * An identity value shared by more resources than this links none of them: such a value
 * (`default`, `main`) says nothing, and a hostile plan could otherwise make the graph
 * quadratic.
 */
const MAX_SHARED_IDENTITY = 32;
/** Reference roots that are not resources. */
const NOT_RESOURCES = new Set(['var', 'local', 'each', 'count', 'path', 'terraform', 'self', 'module']);

/**
 * Which resources of a plan belong together (a bucket and its encryption, policy and
 * public-access-block resources; a security group and its rules; a key vault and its
 * diagnostic setting), so rules can look across resources.
 *
 * Two sources, unioned:
 * - the `configuration` expressions' `references` (exact: `bucket = aws_s3_bucket.x.id`
 *   refers to `aws_s3_bucket.x` in the same module instance; for an unindexed reference
 *   from a counted resource, the instance with the same key is preferred);
 * - known values: an attribute such as `bucket`, `*_id` or `*_name` whose value equals
 *   the `id`, `arn`, `bucket`, `name` or `self_link` of another resource (for plans
 *   without configuration, and for values that pass through variables).
 * Links are symmetric.
 */
export class ResourceGraph {
  private readonly links = new Map<PlanResource, Set<PlanResource>>();

  constructor(readonly resources: readonly PlanResource[]) {
    const byConfigKey = new Map<string, PlanResource[]>();
    for (const r of resources) push(byConfigKey, configKey(r.moduleAddress, r.mode, r.type, r.name), r);
    for (const r of resources) {
      if (r.config === null) continue;
      for (const ref of collectReferences(r.config)) {
        const target = parseReference(ref);
        if (target === null) continue;
        let candidates = byConfigKey.get(configKey(r.moduleAddress, target.mode, target.type, target.name)) ?? [];
        if (target.index !== undefined) candidates = candidates.filter((c) => c.index === target.index);
        else if (candidates.length > 1 && r.index !== null) {
          const same = candidates.filter((c) => c.index === r.index);
          if (same.length > 0) candidates = same;
        }
        for (const c of candidates) this.link(r, c);
      }
    }
    const byIdentity = new Map<string, PlanResource[]>();
    for (const r of resources) {
      const ids = new Set<string>();
      for (const v of [r.after, r.before]) {
        if (v === null) continue;
        for (const k of IDENTITY_KEYS) if (typeof v[k] === 'string' && v[k] !== '') ids.add(v[k]);
      }
      for (const id of ids) push(byIdentity, id, r);
    }
    for (const r of resources) {
      const values = r.after ?? r.before;
      if (values === null) continue;
      for (const [k, v] of Object.entries(values)) {
        if (!LINK_KEY.test(k)) continue;
        for (const s of typeof v === 'string' ? [v] : Array.isArray(v) ? v : []) {
          if (typeof s !== 'string' || s === '') continue;
          const targets = byIdentity.get(s);
          if (targets === undefined || targets.length > MAX_SHARED_IDENTITY) continue;
          for (const t of targets) this.link(r, t);
        }
      }
    }
  }

  /** Resources linked to `r` that exist once the plan is applied, optionally of one type. */
  related(r: PlanResource, type?: string): PlanResource[] {
    const out: PlanResource[] = [];
    for (const other of this.links.get(r) ?? []) {
      if (!existsAfterApply(other)) continue;
      if (type === undefined || other.type === type) out.push(other);
    }
    return out;
  }

  private link(a: PlanResource, b: PlanResource): void {
    if (a === b) return;
    if (!this.links.has(a)) this.links.set(a, new Set());
    if (!this.links.has(b)) this.links.set(b, new Set());
    this.links.get(a)!.add(b);
    this.links.get(b)!.add(a);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function configKey(moduleAddress: string, mode: string, type: string, name: string): string {
  return `${moduleAddress}\u0000${mode}\u0000${type}\u0000${name}`;
}

/** Every string of every `references` array in a block-expressions representation. */
function collectReferences(config: JsonObject): Set<string> {
  const out = new Set<string>();
  const stack: JsonValue[] = [config];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (Array.isArray(v)) stack.push(...v);
    else if (isJsonObject(v)) {
      for (const [k, child] of Object.entries(v)) {
        if (k === 'references' && Array.isArray(child)) {
          for (const s of child) if (typeof s === 'string') out.add(s);
        } else stack.push(child);
      }
    }
  }
  return out;
}

/** The resource a reference string names (`data.aws_iam_policy_document.p.json`, `aws_s3_bucket.b[0].id`), or null. */
export function parseReference(ref: string): { mode: 'managed' | 'data'; type: string; name: string; index?: string | number } | null {
  let mode: 'managed' | 'data' = 'managed';
  let rest = ref;
  if (rest.startsWith('data.')) {
    mode = 'data';
    rest = rest.slice(5);
  }
  const dot = rest.indexOf('.');
  if (dot <= 0) return null;
  const type = rest.slice(0, dot);
  if (mode === 'managed' && NOT_RESOURCES.has(type)) return null;
  let i = dot + 1;
  let name = '';
  while (i < rest.length && rest[i] !== '.' && rest[i] !== '[') name += rest[i++];
  if (name === '') return null;
  if (rest[i] !== '[') return { mode, type, name };
  const end = skipIndex(rest, i);
  const raw = rest.slice(i + 1, end - 1);
  let index: string | number | undefined;
  if (/^[0-9]+$/.test(raw)) index = Number(raw);
  else if (raw.startsWith('"')) {
    try {
      index = JSON.parse(raw) as string;
    } catch {
      index = undefined;
    }
  }
  return index === undefined ? { mode, type, name } : { mode, type, name, index };
}
