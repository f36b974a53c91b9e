/**
 * Cedar values as the compiled evaluator holds them.
 *
 * - Bool: `boolean`; String: `string`.
 * - Long: a 64-bit signed integer, held as a `number` when it is a safe integer and as a
 *   `bigint` otherwise. INVARIANT: the representation is canonical (never a bigint that
 *   fits a safe integer, never -0), so `===` is Long equality.
 * - Entity: {@link EntityUid}; Set: {@link CedarSet}; Record: {@link CedarRecord}.
 * - Extensions: {@link Decimal}, {@link IpAddr}, {@link DateTime}, {@link Duration}.
 */

/** A Cedar evaluation error: the policy that raised it is skipped and reported. */
export class CedarEvalError extends Error {
  constructor(message: string, readonly kind: 'type' | 'entity' | 'attribute' | 'overflow' | 'extension' | 'tag' = 'type') {
    super(message);
  }
}

export type Long = number | bigint;

const internBox: Record<string, 0> = Object.create(null) as Record<string, 0>;
/**
 * The same string, internalized by V8 (as property names are): Map lookups between two
 * internalized strings compare pointers, not characters. Costs about 0.5 µs, so only
 * long-lived keys (entity store, policy index) are internalized, once.
 */
export function internKey(s: string): string {
  internBox[s] = 0;
  for (const k in internBox) {
    delete internBox[k];
    return k;
  }
  return s;
}

const isKeys = new Map<string, string>();
/** `is:Type`, one string per type (entity types are few; the map is bounded anyway). */
function isKeyOf(type: string): string {
  let k = isKeys.get(type);
  if (k === undefined) {
    k = internKey(`is:${type}`);
    if (isKeys.size < 4096) isKeys.set(type, k);
  }
  return k;
}

/** An entity reference `Type::"id"`. */
export class EntityUid {
  /** Unique string form, `Type::"id"` with the id JSON-quoted. */
  readonly key: string;
  /** Index key of `is Type` constraints. */
  readonly isKey: string;
  /**
   * What an entity store resolved this uid to, and which store (a cache the store
   * manages: see EntityStore). Not part of the value.
   */
  memoOwner: object | undefined = undefined;
  memo: unknown = undefined;
  constructor(
    readonly type: string,
    readonly id: string,
  ) {
    // join builds one flat string (a template literal builds a rope of several, slower
    // to hash and compare on every map lookup of the key)
    this.key = [type, '::', JSON.stringify(id)].join('');
    this.isKey = isKeyOf(type);
  }
  toString(): string {
    return this.key;
  }
}

/** A Cedar record (attribute name -> value). */
export type CedarRecord = Map<string, Value>;

/** A decimal with four digits after the point, held as value * 10^4 (an i64). */
export class Decimal {
  constructor(readonly scaled: bigint) {}
}

/** An IPv4 or IPv6 address with its prefix length (host bits are kept, as Cedar keeps them). */
export class IpAddr {
  constructor(
    readonly v6: boolean,
    readonly addr: bigint,
    readonly prefix: number,
  ) {}
  /** Lowest and highest address of the range. */
  range(): [bigint, bigint] {
    const width = BigInt((this.v6 ? 128 : 32) - this.prefix);
    const lo = (this.addr >> width) << width;
    return [lo, lo + (1n << width) - 1n];
  }
}

/** A datetime: milliseconds since the Unix epoch (i64). */
export class DateTime {
  constructor(readonly ms: Long) {}
}

/** A duration in milliseconds (i64). */
export class Duration {
  constructor(readonly ms: Long) {}
}

/** A Cedar set. Items are distinct (by Cedar equality); order is insertion order. */
export class CedarSet {
  private keys: Set<string> | undefined;
  private constructor(readonly items: readonly Value[]) {}

  /** Builds a set from values, dropping duplicates. */
  static of(values: readonly Value[]): CedarSet {
    if (values.length <= 1) return new CedarSet(values.slice());
    const seen = new Set<string>();
    const items: Value[] = [];
    for (const v of values) {
      const k = valueKey(v);
      if (!seen.has(k)) {
        seen.add(k);
        items.push(v);
      }
    }
    const s = new CedarSet(items);
    s.keys = seen;
    return s;
  }

  get size(): number {
    return this.items.length;
  }

  /** Cedar `contains`. */
  has(v: Value): boolean {
    const items = this.items;
    if (items.length < 8) {
      for (const item of items) if (valueEquals(item, v)) return true;
      return false;
    }
    return this.keySet().has(valueKey(v));
  }

  /** The canonical keys of the items. */
  keySet(): Set<string> {
    if (this.keys === undefined) this.keys = new Set(this.items.map(valueKey));
    return this.keys;
  }
}

export type Value = boolean | number | bigint | string | EntityUid | CedarSet | CedarRecord | Decimal | IpAddr | DateTime | Duration;

// ---- Long arithmetic (checked i64) --------------------------------------------

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

/** A Long from a bigint, canonical; throws on i64 overflow. */
export function longFromBigInt(b: bigint, what = 'integer overflow'): Long {
  if (b > I64_MAX || b < I64_MIN) throw new CedarEvalError(what, 'overflow');
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

/** True if `b` is a valid i64. */
export function fitsI64(b: bigint): boolean {
  return b <= I64_MAX && b >= I64_MIN;
}

export function longAdd(a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
  }
  return longFromBigInt(BigInt(a) + BigInt(b), `integer overflow while attempting to add the values \`${a}\` and \`${b}\``);
}

export function longSub(a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
  }
  return longFromBigInt(BigInt(a) - BigInt(b), `integer overflow while attempting to subtract the values \`${a}\` and \`${b}\``);
}

export function longMul(a: Long, b: Long): Long {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
  }
  return longFromBigInt(BigInt(a) * BigInt(b), `integer overflow while attempting to multiply the values \`${a}\` and \`${b}\``);
}

export function longNeg(a: Long): Long {
  if (typeof a === 'number') return a === 0 ? 0 : -a;
  return longFromBigInt(-a, `integer overflow while attempting to negate the value \`${a}\``);
}

/** Truncating division (Rust `/` on i64), divisor non-zero. */
export function longDivTrunc(a: Long, d: number): Long {
  if (typeof a === 'number') {
    const r = Math.trunc(a / d);
    return r === 0 ? 0 : r;
  }
  return longFromBigInt(a / BigInt(d));
}

// ---- type names, equality, keys ---------------------------------------------------

/** Cedar's name for the type of a value (for error messages). */
export function typeName(v: Value): string {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
    case 'bigint':
      return 'long';
    case 'string':
      return 'string';
  }
  if (v instanceof EntityUid) return `(entity of type \`${v.type}\`)`;
  if (v instanceof CedarSet) return 'set';
  if (v instanceof Map) return 'record';
  if (v instanceof Decimal) return 'decimal';
  if (v instanceof IpAddr) return 'ipaddr';
  if (v instanceof DateTime) return 'datetime';
  return 'duration';
}

/** True if `v` is a Long. */
export function isLong(v: Value): v is Long {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** Cedar `==`: structural equality, false across types. */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof EntityUid) return b instanceof EntityUid && a.key === b.key;
  if (a instanceof CedarSet) {
    if (!(b instanceof CedarSet) || a.size !== b.size) return false;
    for (const item of a.items) if (!b.has(item)) return false;
    return true;
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) {
      const w = b.get(k);
      if (w === undefined || !valueEquals(v, w)) return false;
    }
    return true;
  }
  if (a instanceof Decimal) return b instanceof Decimal && a.scaled === b.scaled;
  if (a instanceof IpAddr) return b instanceof IpAddr && a.v6 === b.v6 && a.addr === b.addr && a.prefix === b.prefix;
  if (a instanceof DateTime) return b instanceof DateTime && a.ms === b.ms;
  if (a instanceof Duration) return b instanceof Duration && a.ms === b.ms;
  return false;
}

/** A canonical string for a value: equal values (Cedar `==`) have equal keys. */
export function valueKey(v: Value): string {
  switch (typeof v) {
    case 'boolean':
      return v ? 'T' : 'F';
    case 'number':
    case 'bigint':
      return `L${v}`;
    case 'string':
      return JSON.stringify(v);
  }
  if (v instanceof EntityUid) return `E${v.key}`;
  if (v instanceof CedarSet) return `S[${[...v.keySet()].sort().join(',')}]`;
  if (v instanceof Map) {
    const parts = [...v.entries()].map(([k, x]) => `${JSON.stringify(k)}:${valueKey(x)}`).sort();
    return `R{${parts.join(',')}}`;
  }
  if (v instanceof Decimal) return `D${v.scaled}`;
  if (v instanceof IpAddr) return `I${v.v6 ? 6 : 4}:${v.addr}/${v.prefix}`;
  if (v instanceof DateTime) return `Dt${v.ms}`;
  return `Du${v.ms}`;
}
