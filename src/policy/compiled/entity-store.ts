/**
 * Entities as the compiled evaluator reads them: attributes, tags and the transitive
 * closure of the parent relation (`in`), computed lazily per entity and cached. The
 * cache is dropped whenever an entity or a membership changes.
 */
import { CedarRequestError, checkEnumId, parseEntityUid, parseJsonValue, parseRecord, parseUntypedRecord } from './json-values.js';
import type { CedarSchema } from './schema.js';
import type { EntityUid} from './values.js';
import { internKey, valueEquals, type CedarRecord } from './values.js';

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
  get(uid: EntityUid): EntityData | undefined;
  /** True if `descendant` is `ancestor` or (transitively) in it. */
  isIn(descendant: EntityUid, ancestor: EntityUid): boolean;
  /** Keys of every ancestor of the entity (transitively), not including itself (cached by the store). */
  ancestorList(uid: EntityUid): readonly string[];
}

const EMPTY: ReadonlySet<string> = new Set();
const EMPTY_LIST: readonly string[] = [];

/**
 * An entity with its cached ancestor closure (valid while `gen` is the store's
 * generation). A key keeps its slot for as long as it is in the store (an upsert
 * replaces `data`), so a uid may remember its slot: see {@link EntityStore.slotOf}.
 */
interface Slot {
  /** The entity's key, internalized (see internKey). */
  readonly key: string;
  data: EntityData;
  /** False once the entity is removed. */
  live: boolean;
  gen: number;
  set: ReadonlySet<string> | undefined;
  list: readonly string[] | undefined;
}

/**
 * A mutable entity store with a cached ancestor closure. The closure of an entity is
 * kept beside it (one lookup per entity on the hot path) and is recomputed lazily after
 * any change: every change bumps the store's generation.
 */
export class EntityStore implements EntityLookup {
  private readonly slots = new Map<string, Slot>();
  private gen = 0;

  /** Builds a store from Cedar's JSON entity format, checked against `schema` if given. Throws CedarRequestError. */
  static fromJson(json: unknown, schema?: CedarSchema): EntityStore {
    if (!Array.isArray(json)) throw new CedarRequestError('entities: expected a JSON array');
    const store = new EntityStore();
    json.forEach((e, i) => {
      const entity = parseEntityJson(e, schema, `entities[${i}]`);
      const prev = store.get(entity.uid);
      // Cedar accepts a repeated entity only if both entries are the same.
      if (prev !== undefined && !sameEntity(prev, entity)) throw new CedarRequestError(`duplicate entity entry \`${entity.uid.key}\``);
      store.upsert(entity);
    });
    if (schema !== undefined) {
      // As Cedar does: the ancestors of a given action entity, closed over the entities
      // given (a parent listed twice, or every ancestor listed, is fine), must be the set
      // the schema declares; no attributes, no tags. Then the schema's own entities stand.
      for (const action of schema.actions.values()) {
        const given = store.get(action.uid);
        if (given === undefined) continue;
        const want = schema.actionAncestors(action.uid.key);
        const got = store.ancestorList(action.uid);
        const same = new Set(got).size === want.size && got.every((k) => want.has(k));
        if (!same || given.attrs.size > 0 || (given.tags !== null && given.tags.size > 0)) {
          throw new CedarRequestError(`definition of action \`${action.uid.key}\` does not match its schema declaration`);
        }
      }
      store.addSchemaActions(schema);
    }
    for (const [key, slot] of store.slots) {
      if (store.closure(slot).has(key)) throw new CedarRequestError(`input graph has a cycle containing vertex \`${key}\``);
    }
    return store;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Adds the schema's action entities (with their action-group parents). */
  addSchemaActions(schema: CedarSchema): void {
    for (const action of schema.actions.values()) this.upsert({ uid: action.uid, attrs: new Map(), parents: action.parents, tags: null });
  }

  get(uid: EntityUid): EntityData | undefined {
    return this.slotOf(uid)?.data;
  }

  /** Adds or replaces an entity (invalidates every cached closure). */
  upsert(entity: EntityData): void {
    const slot = this.slots.get(entity.uid.key);
    if (slot !== undefined) slot.data = entity;
    // long-lived keys are internalized, so the ancestor lists built from them are too
    else {
      const key = internKey(entity.uid.key);
      this.slots.set(key, { key, data: entity, live: true, gen: -1, set: undefined, list: undefined });
    }
    this.gen++;
  }

  /** Removes an entity (invalidates every cached closure). */
  remove(uid: EntityUid): void {
    const slot = this.slots.get(uid.key);
    if (slot === undefined) return;
    slot.live = false;
    this.slots.delete(uid.key);
    this.gen++;
  }

  ancestorList(uid: EntityUid): readonly string[] {
    const slot = this.slotOf(uid);
    if (slot === undefined || slot.data.parents.length === 0) return EMPTY_LIST;
    if (slot.gen === this.gen && slot.list !== undefined) return slot.list;
    const list = [...this.closure(slot)];
    slot.list = list;
    return list;
  }

  isIn(descendant: EntityUid, ancestor: EntityUid): boolean {
    if (descendant.key === ancestor.key) return true;
    const slot = this.slotOf(descendant);
    return slot !== undefined && this.closure(slot).has(ancestor.key);
  }

  /**
   * The slot of `uid`. The uid remembers it (see EntityUid.memo): a decision reads the
   * same few entities many times, and a probe of a map of 100,000 entities is mostly
   * cache misses, where reading a field of the uid is not.
   */
  private slotOf(uid: EntityUid): Slot | undefined {
    const memo = uid.memo;
    if (uid.memoOwner === this && (memo as Slot).live) return memo as Slot;
    const slot = this.slots.get(uid.key);
    if (slot !== undefined) {
      uid.memoOwner = this;
      uid.memo = slot;
    }
    return slot;
  }

  /** Keys of every ancestor of the slot's entity (transitively), not including itself. */
  private closure(slot: Slot): ReadonlySet<string> {
    if (slot.data.parents.length === 0) return EMPTY;
    if (slot.gen === this.gen && slot.set !== undefined) return slot.set;
    const out = new Set<string>();
    const stack = [...slot.data.parents];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (out.has(p.key)) continue;
      const ps = this.slots.get(p.key);
      out.add(ps === undefined ? internKey(p.key) : ps.key);
      if (ps !== undefined) for (const q of ps.data.parents) if (!out.has(q.key)) stack.push(q);
    }
    slot.gen = this.gen;
    slot.set = out;
    slot.list = undefined;
    return out;
  }
}

/** Parses one entity of Cedar's JSON entity format. */
export function parseEntityJson(json: unknown, schema: CedarSchema | undefined, where: string): EntityData {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CedarRequestError(`${where}: expected an entity object`);
  const e = json as Record<string, unknown>;
  const uid = parseEntityUid(e.uid, `${where}.uid`);
  // as Cedar's entity format: `attrs` and `parents` are required (`tags` is optional)
  const parentsJson = e.parents;
  if (!Array.isArray(parentsJson)) throw new CedarRequestError(`${where}.parents: expected an array`);
  const parents = parentsJson.map((p, i) => parseEntityUid(p, `${where}.parents[${i}]`));
  // as Cedar, schema or not: an action's parents are actions
  const isAction = (type: string) => type === 'Action' || type.endsWith('::Action');
  if (isAction(uid.type)) {
    const other = parents.find((p) => !isAction(p.type));
    if (other !== undefined) throw new CedarRequestError(`${where}: action \`${uid.key}\` has a non-action parent \`${other.key}\``);
  }
  const attrsJson = e.attrs;
  const tagsJson = e.tags;
  if (typeof attrsJson !== 'object' || attrsJson === null || Array.isArray(attrsJson)) throw new CedarRequestError(`${where}.attrs: expected an object`);
  if (tagsJson !== undefined && (typeof tagsJson !== 'object' || tagsJson === null || Array.isArray(tagsJson))) {
    throw new CedarRequestError(`${where}.tags: expected an object`);
  }
  if (schema === undefined) {
    const attrs = parseUntypedRecord(attrsJson, `${where}.attrs`);
    const tags = tagsJson === undefined ? null : parseUntypedRecord(tagsJson, `${where}.tags`);
    return { uid, attrs, parents, tags };
  }
  if (schema.isActionType(uid.type)) {
    if (!schema.actions.has(uid.key)) throw new CedarRequestError(`${where}: action \`${uid.key}\` is not declared in the schema`);
    const tags = tagsJson === undefined ? null : parseUntypedRecord(tagsJson, `${where}.tags`);
    return { uid, attrs: parseUntypedRecord(attrsJson, `${where}.attrs`), parents, tags };
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
