/**
 * Cedar's JSON value format (entities, context, policy literals) to evaluator values.
 * Without a type, only explicit forms are understood (`{"__entity": ...}`,
 * `{"__extn": ...}`); with a schema type, Cedar's implicit forms are too (`{"type","id"}`
 * for an entity, a string for an extension value), and the value must have that type.
 */
import { EXTENSION_CONSTRUCTORS, EXTENSION_FUNCTIONS, extensionTypeOf } from './extensions.js';
import type { CedarSchema, SchemaType } from './schema.js';
import { CedarEvalError, CedarSet, EntityUid, longFromBigInt, typeName, type CedarRecord, type Value } from './values.js';

/** A request, entity or context that does not parse or does not fit the schema. */
export class CedarRequestError extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Cedar's identifiers that cannot name anything (cedar-policy-core's RESERVED), and its reserved namespace. */
const RESERVED_IDENTS = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', '__cedar']);
const IDENT = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

/** True if `type` is a Cedar entity type name: identifiers joined by `::`, none of them reserved, no spaces. */
export function isEntityTypeName(type: string): boolean {
  return type.split('::').every((part) => IDENT.test(part) && !RESERVED_IDENTS.has(part));
}

/** An entity uid from `{"type","id"}` or `{"__entity": {"type","id"}}`; the type must be a Cedar name, as Cedar requires. */
export function parseEntityUid(json: unknown, where: string): EntityUid {
  let v = json;
  if (isObject(v) && '__entity' in v) v = v.__entity;
  if (isObject(v) && typeof v.type === 'string' && typeof v.id === 'string') {
    if (!isEntityTypeName(v.type)) throw new CedarRequestError(`${where}: \`${v.type.slice(0, 100)}\` is not a valid entity type name`);
    return new EntityUid(v.type, v.id);
  }
  throw new CedarRequestError(`${where}: expected an entity reference \`{"type": ..., "id": ...}\``);
}

/**
 * True if `v` has the shape Cedar reads as an extension call (`{"fn": string, "arg": v}` or
 * `{"fn": string, "args": [...]}`, other keys ignored). Cedar's JSON values are serde's
 * untagged forms: `{"__extn": x}` with `x` of another shape is a record with an attribute
 * `__extn`, and likewise for `__entity`.
 */
function isExtensionCall(v: unknown): v is { fn: string; arg?: unknown; args?: unknown } {
  return isObject(v) && typeof v.fn === 'string' && ('arg' in v || Array.isArray(v.args));
}

/** True if `v` has the shape of an entity reference (`{"type": string, "id": string}`, other keys ignored). */
function isUidShape(v: unknown): boolean {
  return isObject(v) && typeof v.type === 'string' && typeof v.id === 'string';
}

function callExtension(json: unknown, where: string): Value {
  if (!isExtensionCall(json)) throw new CedarRequestError(`${where}: malformed \`__extn\` value`);
  const f = EXTENSION_FUNCTIONS.get(json.fn);
  if (f === undefined) throw new CedarRequestError(`${where}: unknown extension function \`${json.fn}\``);
  const fn = json.fn;
  // `arg` first, as Cedar tries its single-argument form first
  const rawArgs = 'arg' in json ? [json.arg] : json.args;
  if (!Array.isArray(rawArgs) || rawArgs.length !== f.arity) throw new CedarRequestError(`${where}: wrong number of arguments to \`${json.fn}\``);
  const args = rawArgs.map((a, i) => parseJsonValue(a, undefined, undefined, `${where}.${fn}[${i}]`));
  try {
    return f.apply(args);
  } catch (err) {
    if (err instanceof CedarEvalError) throw new CedarRequestError(`${where}: ${err.message}`);
    throw err;
  }
}

/**
 * A Long given as a JS number or, exactly, as a BigInt. A number stands for the JSON
 * text it prints as (its shortest decimal form, `JSON.stringify`), which is what
 * cedar-wasm reads: beyond 2^53 that is not the double's exact value (2^60 prints, and
 * is read, as 1152921504606847000), and -2^63 prints as a number below the i64 range.
 * A caller holding an exact i64 beyond 2^53 gives it as a BigInt, taken as it is over the
 * whole i64 range.
 */
function parseLong(json: number | bigint, where: string): Value {
  if (typeof json === 'number' && !Number.isInteger(json)) throw new CedarRequestError(`${where}: \`${json}\` is not an integer`);
  // every integer double below 1e21 prints as plain digits; larger ones are far out of range anyway
  const exact = typeof json === 'bigint' ? json : Math.abs(json) < 1e21 ? BigInt(String(json)) : null;
  try {
    if (exact === null) throw new RangeError();
    return longFromBigInt(exact);
  } catch {
    throw new CedarRequestError(`${where}: \`${json}\` does not fit a 64-bit integer`);
  }
}

/**
 * Parses a Cedar JSON value; with `type` (and the schema it comes from), parses it as
 * that type and checks it. Throws {@link CedarRequestError}.
 */
export function parseJsonValue(json: unknown, type: SchemaType | undefined, schema: CedarSchema | undefined, where: string): Value {
  if (type === undefined) {
    switch (typeof json) {
      case 'boolean':
      case 'string':
        return json;
      case 'number':
      case 'bigint':
        return parseLong(json, where);
    }
    if (Array.isArray(json)) return CedarSet.of(json.map((x, i) => parseJsonValue(x, undefined, undefined, `${where}[${i}]`)));
    if (isObject(json)) {
      const keys = Object.keys(json);
      // An escape is an object with that single key; anything else is a record.
      if (keys.length === 1 && keys[0] === '__entity' && isUidShape(json.__entity)) return parseEntityUid(json, where);
      if (keys.length === 1 && keys[0] === '__extn' && isExtensionCall(json.__extn)) return callExtension(json.__extn, where);
      if (keys.length === 1 && keys[0] === '__expr' && typeof json.__expr === 'string') throw new CedarRequestError(`${where}: the \`__expr\` escape is no longer supported`);
      const rec: CedarRecord = new Map();
      for (const [k, x] of Object.entries(json)) rec.set(k, parseJsonValue(x, undefined, undefined, `${where}.${k}`));
      return rec;
    }
    throw new CedarRequestError(`${where}: \`${String(json)}\` is not a Cedar value`);
  }
  const mismatch = (got: string) => new CedarRequestError(`${where}: type mismatch: expected ${describeType(type)}, got ${got}`);
  switch (type.kind) {
    case 'String':
      if (typeof json !== 'string') throw mismatch(jsonKind(json));
      return json;
    case 'Bool':
      if (typeof json !== 'boolean') throw mismatch(jsonKind(json));
      return json;
    case 'Long':
      if (typeof json !== 'number' && typeof json !== 'bigint') throw mismatch(jsonKind(json));
      return parseLong(json, where);
    case 'Set':
      if (!Array.isArray(json)) throw mismatch(jsonKind(json));
      return CedarSet.of(json.map((x, i) => parseJsonValue(x, type.element, schema, `${where}[${i}]`)));
    case 'Record': {
      if (!isObject(json) || '__entity' in json || '__extn' in json) throw mismatch(jsonKind(json));
      return parseRecord(json, type, schema, where);
    }
    case 'Entity': {
      if (!isObject(json)) throw mismatch(jsonKind(json));
      const uid = parseEntityUid(json, where);
      if (uid.type !== type.name) throw mismatch(`entity of type \`${uid.type}\``);
      if (schema !== undefined) checkEnumId(uid, schema, where);
      return uid;
    }
    case 'Extension': {
      let v: Value;
      if (typeof json === 'string') v = callExtension({ fn: EXTENSION_CONSTRUCTORS[type.name], arg: json }, where);
      else if (isObject(json) && '__extn' in json) v = callExtension(json.__extn, where);
      else throw mismatch(jsonKind(json));
      if (extensionTypeOf(v) !== type.name) throw mismatch(typeName(v));
      return v;
    }
  }
}

/**
 * Parses a JSON object as a record without a type: each key an attribute, whatever its
 * name (entity `attrs` and `tags` are maps in Cedar's format, so `{"__extn": ...}` there
 * is an attribute named `__extn`, not an extension value).
 */
export function parseUntypedRecord(json: unknown, where: string): CedarRecord {
  if (!isObject(json)) throw new CedarRequestError(`${where}: expected an object`);
  const rec: CedarRecord = new Map();
  for (const [k, x] of Object.entries(json)) rec.set(k, parseJsonValue(x, undefined, undefined, `${where}.${k}`));
  return rec;
}

/** Parses a JSON object as a record of the given record type (required attributes, no extras). */
export function parseRecord(json: Record<string, unknown>, type: Extract<SchemaType, { kind: 'Record' }>, schema: CedarSchema | undefined, where: string): CedarRecord {
  const rec: CedarRecord = new Map();
  for (const [k, x] of Object.entries(json)) {
    const at = type.attrs.get(k);
    if (at === undefined) {
      if (!type.additional) throw new CedarRequestError(`${where}: attribute \`${k}\` should not exist according to the schema`);
      rec.set(k, parseJsonValue(x, undefined, undefined, `${where}.${k}`));
    } else {
      rec.set(k, parseJsonValue(x, at.type, schema, `${where}.${k}`));
    }
  }
  for (const [k, at] of type.attrs) {
    if (at.required && !rec.has(k)) throw new CedarRequestError(`${where}: expected attribute \`${k}\` is missing`);
  }
  return rec;
}

/** Errors if `uid` is of an enumerated entity type and its id is not one of the values. */
export function checkEnumId(uid: EntityUid, schema: CedarSchema, where: string): void {
  const def = schema.entityTypes.get(uid.type);
  if (def?.enumIds != null && !def.enumIds.has(uid.id)) {
    throw new CedarRequestError(`${where}: entity \`${uid.key}\` is of an enumerated type, but \`${uid.id}\` is not one of its values`);
  }
}

function jsonKind(json: unknown): string {
  if (Array.isArray(json)) return 'set';
  if (json === null) return 'null';
  if (typeof json === 'object') return 'record';
  if (typeof json === 'number' || typeof json === 'bigint') return 'long';
  if (typeof json === 'boolean') return 'bool';
  return typeof json;
}

function describeType(t: SchemaType): string {
  switch (t.kind) {
    case 'Set':
      return `set<${describeType(t.element)}>`;
    case 'Entity':
      return `entity of type \`${t.name}\``;
    case 'Extension':
      return t.name;
    default:
      return t.kind.toLowerCase();
  }
}
