import { isJsonObject } from './bounded-json.js';
import type { JsonObject, JsonValue } from './bounded-json.js';
import type { PlanResource } from './parse-plan.js';
import type { ResourceGraph } from './resource-graph.js';

/**
 * Thrown when a rule reads a value that Terraform knows only after apply. CEL's logical
 * operators and macros absorb an error when the other side decides the result
 * (`unknown || true` is true), so a rule that still finishes has a verdict that holds
 * whatever the value turns out to be; a rule that ends in this error has none.
 */
export class UnknownValueError extends Error {
  constructor(readonly path: string) {
    super(`\`${path}\` is known only after apply`);
    this.name = 'UnknownValueError';
  }
}

/**
 * What a rule sees of one resource instance (the CEL variable `resource`). Fields:
 * `address`, `module`, `mode`, `type`, `name`, `index`, `provider`, `action` (create,
 * update, replace, no-op, read), `actions`, `values` (the state after apply; reading a
 * value known only after apply makes the verdict `unknown`), `before` (state before, or
 * null), `sensitive` (`after_sensitive`), `config` (the block's expressions from
 * `configuration`: `constant_value` / `references`), `has_config`.
 */
export type ResourceView = Record<string, unknown>;

interface Owner {
  resource: PlanResource;
  factory: ViewFactory;
}

/** Which plan resource (and which plan) a view object stands for, for the CEL functions. */
const OWNERS = new WeakMap<object, Owner>();

/** Builds (once each) the views of a plan's resources, and answers what a view stands for. */
export class ViewFactory {
  private readonly cache = new Map<PlanResource, ResourceView>();

  constructor(readonly graph: ResourceGraph) {}

  /** The view of `r`, built on first use. */
  view(r: PlanResource): ResourceView {
    let v = this.cache.get(r);
    if (v !== undefined) return v;
    v = Object.create(null) as ResourceView;
    v.address = r.address;
    v.module = r.moduleAddress;
    v.mode = r.mode;
    v.type = r.type;
    v.name = r.name;
    v.index = r.index;
    v.provider = r.providerName;
    v.action = r.change;
    v.actions = [...r.actions];
    v.before = r.before;
    v.sensitive = r.afterSensitive ?? null;
    v.config = r.config ?? {};
    v.has_config = r.config !== null;
    if (r.afterUnknown === true) unknownProperty(v, 'values', '');
    else v.values = withUnknowns(r.after ?? {}, r.afterUnknown, '').value;
    this.cache.set(r, v);
    OWNERS.set(v, { resource: r, factory: this });
    return v;
  }
}

/** The plan resource and factory behind a view, or null when `v` is not one. */
export function ownerOf(v: unknown): Owner | null {
  return typeof v === 'object' && v !== null ? (OWNERS.get(v) ?? null) : null;
}

function unknownProperty(target: object, key: string | number, path: string): void {
  Object.defineProperty(target, key, {
    enumerable: true,
    get() {
      throw new UnknownValueError(path === '' ? 'values' : path);
    },
  });
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/**
 * `value` with a throwing getter wherever `unknown` (the `after_unknown` mirror) has
 * `true`; subtrees without unknowns are shared, not copied.
 */
function withUnknowns(value: JsonValue, unknown: JsonValue | undefined, path: string): { value: unknown; changed: boolean } {
  if (Array.isArray(unknown)) {
    const arr = Array.isArray(value) ? value : [];
    const out: unknown[] = new Array(Math.max(arr.length, unknown.length));
    let changed = false;
    for (let i = 0; i < out.length; i++) {
      if (unknown[i] === true) {
        unknownProperty(out, i, join(path, i));
        changed = true;
      } else {
        const child = withUnknowns(arr[i] ?? null, unknown[i], join(path, i));
        out[i] = child.value;
        changed ||= child.changed;
      }
    }
    return changed ? { value: out, changed } : { value, changed: false };
  }
  if (isJsonObject(unknown)) {
    const obj: JsonObject = isJsonObject(value) ? value : {};
    const out = Object.create(null) as Record<string, unknown>;
    let changed = false;
    for (const k of new Set([...Object.keys(obj), ...Object.keys(unknown)])) {
      if (unknown[k] === true) {
        unknownProperty(out, k, join(path, k));
        changed = true;
      } else {
        const child = withUnknowns(obj[k] ?? null, unknown[k], join(path, k));
        out[k] = child.value;
        changed ||= child.changed;
      }
    }
    return changed ? { value: out, changed } : { value, changed: false };
  }
  return { value, changed: false };
}
