/**
 * Entities as the compiled evaluator reads them: attributes, tags and the transitive
 * closure of the parent relation (`in`), computed lazily per entity and cached. The
 * cache is dropped whenever an entity or a membership changes.
 */
import { CedarRequestError, checkEnumId, parseEntityUid, parseJsonValue, parseRecord } from './json-values.js';
import type { CedarSchema } from './schema.js';
import { EntityUid, valueEquals, type CedarRecord } from './values.js';

function sameEntity(a: EntityData, b: EntityData): boolean {
  const pa = new Set(a.parents.map((p) => p.key));
  const pb = new Set(b.parents.map((p) => p.key));
  if (pa.size !== pb.size || ![...pa].every((k) => pb.has(k))) return false;
  if (!valueEquals(a.attrs, b.attrs)) return false;
  return valueEquals(a.tags ?? new Map(), b.tags ?? new Map());
}

/** One entity. */
export interface EntityData {
  readonly uid: EntityUid;
  readonly attrs: CedarRecord;
  /** Direct parents. */
  readonly parents: readonly EntityUid[];
  readonly tags: CedarRecord | null;
}

/** What the evaluator needs from an entity store. */
export interface EntityLookup {
  /** The entity, or undefined if it does not exist. */
  get(key: string): EntityData | undefined;
  /** True if `descendant` is `ancestor` or (transitively) in it. */
  isIn(descendant: EntityUid, ancestor: EntityUid): boolean;
  /** Keys of every ancestor of the entity (transitively), not including itself. */
  ancestors(key: string): Iterable<string>;
}

const EMPTY: ReadonlySet<string> = new Set();

/** A mutable entity store with a cached ancestor closure. */
export class EntityStore implements EntityLookup {
  private readonly entities = new Map<string, EntityData>();
  private closure = new Map<string, ReadonlySet<string>>();

  /** Builds a store from Cedar's JSON entity format, checked against `schema` if given. Throws CedarRequestError. */
  static fromJson(json: unknown, schema?: CedarSchema): EntityStore {
    if (!Array.isArray(json)) throw new CedarRequestError('entities: expected a JSON array');
    const store = new EntityStore();
    json.forEach((e, i) => {
      const entity = parseEntityJson(e, schema, `entities[${i}]`);
      const prev = store.entities.get(entity.uid.key);
      // Cedar accepts a repeated entity only if both entries are the same.
      if (prev !== undefined && !sameEntity(prev, entity)) throw new CedarRequestError(`duplicate entity entry \`${entity.uid.key}\``);
      store.entities.set(entity.uid.key, entity);
    });
    if (schema !== undefined) {
      for (const action of schema.actions.values()) {
        const given = store.entities.get(action.uid.key);
        if (given !== undefined) {
          const want = new Set(action.parents.map((p) => p.key));
          if (given.parents.length !== want.size || !given.parents.every((p) => want.has(p.key)) || given.attrs.size > 0) {
            throw new CedarRequestError(`definition of action \`${action.uid.key}\` does not match its schema declaration`);
          }
        }
        store.entities.set(action.uid.key, { uid: action.uid, attrs: new Map(), parents: action.parents, tags: null });
      }
    }
    for (const key of store.entities.keys()) {
      if (store.ancestors(key).has(key)) throw new CedarRequestError(`input graph has a cycle containing vertex \`${key}\``);
    }
    return store;
  }

  get size(): number {
    return this.entities.size;
  }

  get(key: string): EntityData | undefined {
    return this.entities.get(key);
  }

  /** Adds or replaces an entity (drops the cached closure). */
  upsert(entity: EntityData): void {
    this.entities.set(entity.uid.key, entity);
    if (this.closure.size > 0) this.closure = new Map();
  }

  /** Removes an entity (drops the cached closure). */
  remove(uid: EntityUid): void {
    this.entities.delete(uid.key);
    if (this.closure.size > 0) this.closure = new Map();
  }

  /** Keys of every ancestor of the entity (transitively), not including itself. */
  ancestors(key: string): ReadonlySet<string> {
    const cached = this.closure.get(key);
    if (cached !== undefined) return cached;
    const start = this.entities.get(key);
    if (start === undefined || start.parents.length === 0) return EMPTY;
    const out = new Set<string>();
    const stack = [...start.parents];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (out.has(p.key)) continue;
      out.add(p.key);
      const pd = this.entities.get(p.key);
      if (pd !== undefined) for (const q of pd.parents) if (!out.has(q.key)) stack.push(q);
    }
    this.closure.set(key, out);
    return out;
  }

  isIn(descendant: EntityUid, ancestor: EntityUid): boolean {
    return descendant.key === ancestor.key || this.ancestors(descendant.key).has(ancestor.key);
  }
}

/** Parses one entity of Cedar's JSON entity format. */
export function parseEntityJson(json: unknown, schema: CedarSchema | undefined, where: string): EntityData {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CedarRequestError(`${where}: expected an entity object`);
  const e = json as Record<string, unknown>;
  const uid = parseEntityUid(e.uid, `${where}.uid`);
  const parentsJson = e.parents ?? [];
  if (!Array.isArray(parentsJson)) throw new CedarRequestError(`${where}.parents: expected an array`);
  const parents = parentsJson.map((p, i) => parseEntityUid(p, `${where}.parents[${i}]`));
  const attrsJson = e.attrs ?? {};
  const tagsJson = e.tags;
  if (typeof attrsJson !== 'object' || attrsJson === null || Array.isArray(attrsJson)) throw new CedarRequestError(`${where}.attrs: expected an object`);
  if (tagsJson !== undefined && (typeof tagsJson !== 'object' || tagsJson === null || Array.isArray(tagsJson))) {
    throw new CedarRequestError(`${where}.tags: expected an object`);
  }
  if (schema === undefined) {
    const attrs = parseJsonValue(attrsJson, undefined, undefined, `${where}.attrs`) as CedarRecord;
    const tags = tagsJson === undefined ? null : (parseJsonValue(tagsJson, undefined, undefined, `${where}.tags`) as CedarRecord);
    return { uid, attrs, parents, tags };
  }
  if (schema.isActionType(uid.type)) {
    if (!schema.actions.has(uid.key)) throw new CedarRequestError(`${where}: action \`${uid.key}\` is not declared in the schema`);
    return { uid, attrs: parseJsonValue(attrsJson, undefined, undefined, `${where}.attrs`) as CedarRecord, parents, tags: null };
  }
  const def = schema.entityTypes.get(uid.type);
  if (def === undefined) throw new CedarRequestError(`${where}: entity \`${uid.key}\` has type \`${uid.type}\` which is not declared in the schema`);
  checkEnumId(uid, schema, where);
  for (const p of parents) {
    if (!def.memberOf.has(p.type)) throw new CedarRequestError(`${where}: \`${uid.key}\` is not allowed to have an ancestor of type \`${p.type}\` according to the schema`);
    checkEnumId(p, schema, `${where}.parents`);
  }
  const attrs = parseRecord(attrsJson as Record<string, unknown>, def.shape, schema, `${where}.attrs`);
  let tags: CedarRecord | null = null;
  if (tagsJson !== undefined) {
    const entries = Object.entries(tagsJson as Record<string, unknown>);
    if (def.tags === null && entries.length > 0) throw new CedarRequestError(`${where}: \`${uid.key}\` may not have tags according to the schema`);
    tags = new Map(entries.map(([k, x]) => [k, parseJsonValue(x, def.tags ?? undefined, schema, `${where}.tags.${k}`)]));
  }
  return { uid, attrs, parents, tags };
}
