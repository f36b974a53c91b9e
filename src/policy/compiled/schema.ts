/**
 * A Cedar schema as the compiled evaluator uses it: entity types with their attribute
 * types, parent types and tags, and actions with their hierarchy and `appliesTo`.
 * Built from cedar-wasm's JSON form of the schema; used to parse entity and context
 * JSON the way the official engine does (implicit entity and extension forms) and to
 * validate requests (unknown types or attributes are errors, never allows).
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { EntityUid } from './values.js';

/** A Cedar type. */
export type SchemaType =
  | { kind: 'String' }
  | { kind: 'Long' }
  | { kind: 'Bool' }
  | { kind: 'Set'; element: SchemaType }
  | { kind: 'Record'; attrs: Map<string, { type: SchemaType; required: boolean }>; additional: boolean }
  | { kind: 'Entity'; name: string }
  | { kind: 'Extension'; name: string };

/** An entity type of the schema. */
export interface EntityTypeDef {
  name: string;
  memberOf: ReadonlySet<string>;
  shape: Extract<SchemaType, { kind: 'Record' }>;
  tags: SchemaType | null;
  /** For enumerated entity types, the allowed ids. */
  enumIds: ReadonlySet<string> | null;
}

/** An action of the schema. */
export interface ActionDef {
  uid: EntityUid;
  /** Direct parents (action groups). */
  parents: EntityUid[];
  /** Null when the action has no `appliesTo` (it applies to nothing). */
  appliesTo: { principals: ReadonlySet<string>; resources: ReadonlySet<string>; context: Extract<SchemaType, { kind: 'Record' }> } | null;
}

/** Thrown when a schema cannot be built. */
export class SchemaError extends Error {}

const EXTENSIONS = new Set(['ipaddr', 'decimal', 'datetime', 'duration']);
const EMPTY_RECORD: Extract<SchemaType, { kind: 'Record' }> = { kind: 'Record', attrs: new Map(), additional: false };

type JsonType = Record<string, unknown>;

/** A parsed Cedar schema. */
export class CedarSchema {
  readonly entityTypes = new Map<string, EntityTypeDef>();
  /** By action entity key. */
  readonly actions = new Map<string, ActionDef>();

  private constructor() {}

  /** Builds the schema from Cedar schema text (or cedar-wasm's JSON form). Throws SchemaError. */
  static parse(schema: string | cedar.SchemaJson<string>): CedarSchema {
    let json: cedar.SchemaJson<string>;
    if (typeof schema === 'string') {
      const answer = cedar.schemaToJsonWithResolvedTypes(schema);
      if (answer.type === 'failure') throw new SchemaError(answer.errors.map((e) => e.message).join('; '));
      json = answer.json;
    } else {
      json = schema;
    }
    const out = new CedarSchema();
    const common = new Map<string, JsonType>();
    const qualify = (ns: string, n: string) => (ns === '' ? n : `${ns}::${n}`);
    for (const [ns, def] of Object.entries(json)) {
      for (const [n, t] of Object.entries(def.commonTypes ?? {})) common.set(qualify(ns, n), t as unknown as JsonType);
      for (const n of Object.keys(def.entityTypes ?? {})) {
        out.entityTypes.set(qualify(ns, n), { name: qualify(ns, n), memberOf: new Set(), shape: EMPTY_RECORD, tags: null, enumIds: null });
      }
    }
    const resolving = new Set<string>();
    const resolveName = (ns: string, name: string): SchemaType => {
      if (name.startsWith('__cedar::')) return builtin(name.slice('__cedar::'.length), name);
      const candidates = name.includes('::') ? [name] : [qualify(ns, name), name];
      for (const c of candidates) {
        const ct = common.get(c);
        if (ct !== undefined) {
          if (resolving.has(c)) throw new SchemaError(`common type \`${c}\` is recursive`);
          resolving.add(c);
          try {
            return resolveType(c.includes('::') ? c.slice(0, c.lastIndexOf('::')) : '', ct);
          } finally {
            resolving.delete(c);
          }
        }
        if (out.entityTypes.has(c)) return { kind: 'Entity', name: c };
      }
      return builtin(name, name);
    };
    const builtin = (n: string, shown: string): SchemaType => {
      if (n === 'String') return { kind: 'String' };
      if (n === 'Long') return { kind: 'Long' };
      if (n === 'Bool' || n === 'Boolean') return { kind: 'Bool' };
      if (EXTENSIONS.has(n)) return { kind: 'Extension', name: n };
      throw new SchemaError(`unknown type \`${shown}\``);
    };
    const entityName = (ns: string, n: string): string => {
      const candidates = n.includes('::') ? [n] : [qualify(ns, n), n];
      for (const c of candidates) if (out.entityTypes.has(c)) return c;
      throw new SchemaError(`unknown entity type \`${n}\``);
    };
    const resolveType = (ns: string, t: JsonType): SchemaType => {
      const kind = t.type as string;
      switch (kind) {
        case 'String':
        case 'Long':
        case 'Boolean':
        case 'Bool':
          return builtin(kind, kind);
        case 'Set':
          return { kind: 'Set', element: resolveType(ns, t.element as JsonType) };
        case 'Record': {
          const attrs = new Map<string, { type: SchemaType; required: boolean }>();
          for (const [a, at] of Object.entries((t.attributes ?? {}) as Record<string, JsonType>)) {
            attrs.set(a, { type: resolveType(ns, at), required: at.required !== false });
          }
          return { kind: 'Record', attrs, additional: t.additionalAttributes === true };
        }
        case 'Entity':
          return { kind: 'Entity', name: entityName(ns, t.name as string) };
        case 'Extension':
          return builtin(t.name as string, t.name as string);
        case 'EntityOrCommon':
          return resolveName(ns, t.name as string);
        default:
          return resolveName(ns, kind);
      }
    };
    const asRecord = (t: SchemaType, what: string): Extract<SchemaType, { kind: 'Record' }> => {
      if (t.kind !== 'Record') throw new SchemaError(`${what} must be a record type`);
      return t;
    };
    for (const [ns, def] of Object.entries(json)) {
      for (const [n, et] of Object.entries(def.entityTypes ?? {})) {
        const name = qualify(ns, n);
        const e = et as Record<string, unknown>;
        const entry = out.entityTypes.get(name)!;
        if (Array.isArray(e.enum)) {
          out.entityTypes.set(name, { ...entry, enumIds: new Set(e.enum as string[]) });
          continue;
        }
        out.entityTypes.set(name, {
          name,
          memberOf: new Set(((e.memberOfTypes ?? []) as string[]).map((m) => entityName(ns, m))),
          shape: e.shape === undefined ? EMPTY_RECORD : asRecord(resolveType(ns, e.shape as JsonType), `shape of \`${name}\``),
          tags: e.tags === undefined ? null : resolveType(ns, e.tags as JsonType),
          enumIds: null,
        });
      }
      const actionType = qualify(ns, 'Action');
      for (const [id, a] of Object.entries(def.actions ?? {})) {
        const uid = new EntityUid(actionType, id);
        const parents = (a.memberOf ?? []).map((m) => {
          const t = m.type === undefined ? actionType : m.type.includes('::') ? m.type : qualify(ns, m.type);
          return new EntityUid(t, m.id);
        });
        let appliesTo: ActionDef['appliesTo'] = null;
        if (a.appliesTo !== undefined) {
          appliesTo = {
            principals: new Set(a.appliesTo.principalTypes.map((p) => entityName(ns, p))),
            resources: new Set(a.appliesTo.resourceTypes.map((r) => entityName(ns, r))),
            context: a.appliesTo.context === undefined ? EMPTY_RECORD : asRecord(resolveType(ns, a.appliesTo.context as unknown as JsonType), `context of action \`${id}\``),
          };
        }
        out.actions.set(uid.key, { uid, parents, appliesTo });
      }
    }
    return out;
  }

  /**
   * Keys of every ancestor of an action (its groups, transitively), as Cedar's action
   * entities carry them; empty for an action the schema does not declare.
   */
  actionAncestors(key: string): ReadonlySet<string> {
    const known = this.#ancestors.get(key);
    if (known !== undefined) return known;
    const set = new Set<string>();
    const stack = [...(this.actions.get(key)?.parents ?? [])];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (set.has(p.key)) continue;
      set.add(p.key);
      stack.push(...(this.actions.get(p.key)?.parents ?? []));
    }
    this.#ancestors.set(key, set);
    return set;
  }

  readonly #ancestors = new Map<string, ReadonlySet<string>>();

  /** True if `type` is an action entity type of this schema (`Action` or `Ns::Action`). */
  isActionType(type: string): boolean {
    return type === 'Action' || type.endsWith('::Action');
  }
}
