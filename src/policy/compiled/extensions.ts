/**
 * Cedar's extension types and functions (decimal, ipaddr, datetime, duration), with the
 * parsing rules of the official engine (cedar-policy-core 4.x).
 */
import {
  CedarEvalError, DateTime, Decimal, Duration, IpAddr, fitsI64, longDivTrunc, longFromBigInt, typeName, type Long, type Value,
} from './values.js';

function extError(ext: string, message: string): CedarEvalError {
  return new CedarEvalError(`error while evaluating \`${ext}\` extension function: ${message}`, 'extension');
}

// ---- decimal ------------------------------------------------------------------------

const DECIMAL = /^(-?[0-9]+)\.([0-9]+)$/;

/** Parses `decimal("...")`: digits, a point, 1 to 4 digits; the value must fit an i64. */
export function parseDecimal(s: string): Decimal {
  const m = DECIMAL.exec(s);
  if (m === null) throw extError('decimal', `\`${s}\` is not a well-formed decimal value`);
  const left = m[1]!;
  const right = m[2]!;
  if (right.length > 4) throw extError('decimal', `too many digits after the decimal in \`${s}\``);
  const l = BigInt(left);
  if (!fitsI64(l) || !fitsI64(l * 10000n)) throw extError('decimal', 'overflow when converting to decimal');
  const r = BigInt(right) * 10n ** BigInt(4 - right.length);
  const v = left.startsWith('-') ? l * 10000n - r : l * 10000n + r;
  if (!fitsI64(v)) throw extError('decimal', 'overflow when converting to decimal');
  return new Decimal(v);
}

// ---- ipaddr ---------------------------------------------------------------------------

function parsePrefix(s: string, max: number, whole: string): number {
  if (s.length === 0) throw extError('ipaddr', `error parsing prefix from the string \`${s}\`: cannot parse integer from empty string`);
  if (!/^[0-9]+$/.test(s)) throw extError('ipaddr', `error parsing prefix \`${s}\`: encountered non-digit`);
  if (s.length > 1 && s.startsWith('0')) throw extError('ipaddr', `error parsing prefix \`${s}\`: leading zero(s)`);
  const n = s.length > 5 ? Infinity : Number(s);
  if (n > max) throw extError('ipaddr', `error parsing prefix: ${s} is larger than the limit ${max} in \`${whole}\``);
  return n;
}

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6Groups(s: string): number[] | null {
  if (s.length === 0) return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    out.push(parseInt(g, 16));
  }
  return out;
}

function parseV6(s: string): bigint | null {
  const halves = s.split('::');
  let groups: number[] | null;
  if (halves.length === 1) {
    groups = parseV6Groups(halves[0]!);
    if (groups === null || groups.length !== 8) return null;
  } else if (halves.length === 2) {
    const a = parseV6Groups(halves[0]!);
    const b = parseV6Groups(halves[1]!);
    if (a === null || b === null || a.length + b.length >= 8) return null;
    groups = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  } else {
    return null;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses `ip("...")`: an IPv4 or IPv6 address with an optional `/prefix`. */
export function parseIp(s: string): IpAddr {
  const slash = s.indexOf('/');
  const addrPart = slash < 0 ? s : s.slice(0, slash);
  const prefixPart = slash < 0 ? undefined : s.slice(slash + 1);
  if (addrPart.includes(':')) {
    if (addrPart.includes('.')) {
      throw extError('ipaddr', `error parsing IP address from string: We do not accept IPv4 embedded in IPv6 (e.g., ::ffff:127.0.0.1). Found: \`${s}\``);
    }
    const v = parseV6(addrPart);
    if (v === null) throw extError('ipaddr', `invalid IP address: ${addrPart}`);
    const prefix = prefixPart === undefined ? 128 : parsePrefix(prefixPart, 128, s);
    return new IpAddr(true, v, prefix);
  }
  const v = parseV4(addrPart);
  if (v === null) throw extError('ipaddr', `invalid IP address: ${addrPart}`);
  const prefix = prefixPart === undefined ? 32 : parsePrefix(prefixPart, 32, s);
  return new IpAddr(false, v, prefix);
}

function inRange(a: IpAddr, b: IpAddr): boolean {
  if (a.v6 !== b.v6) return false;
  const [alo, ahi] = a.range();
  const [blo, bhi] = b.range();
  return bhi >= ahi && alo >= blo;
}

const LOOPBACK_V4 = new IpAddr(false, 127n << 24n, 8);
const LOOPBACK_V6 = new IpAddr(true, 1n, 128);
const MULTICAST_V4 = new IpAddr(false, 224n << 24n, 4);
const MULTICAST_V6 = new IpAddr(true, 0xff00n << 112n, 8);

// ---- datetime and duration ------------------------------------------------------------

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})/;
const HMS = /^T([0-9]{2}):([0-9]{2}):([0-9]{2})/;
const MS_OFFSET = /^(\.([0-9]{3}))?(Z|((\+|-)([0-9]{2})([0-9]{2})))$/;
const DURATION = /^-?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;
const DAY_MS = 86400000;

/** Days from 1970-01-01 to the given proleptic Gregorian date (any year). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Parses `datetime("...")`: `YYYY-MM-DD` optionally followed by `Thh:mm:ss`, `.SSS`, and `Z` or `(+|-)hhmm`. */
export function parseDateTime(s: string): DateTime {
  const dm = DATE.exec(s);
  if (dm === null) throw extError('datetime', 'invalid date pattern');
  const [y, mo, d] = [Number(dm[1]), Number(dm[2]), Number(dm[3])];
  const validDate = mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo);
  const days = daysFromCivil(y, mo, d);
  if (dm[0].length === s.length) {
    if (!validDate) throw extError('datetime', `invalid date: ${dm[0]}`);
    return new DateTime(days * DAY_MS);
  }
  const rest = s.slice(dm[0].length);
  const hm = HMS.exec(rest);
  if (hm === null) throw extError('datetime', 'invalid hour/minute/second pattern');
  const [h, mi, sec] = [Number(hm[1]), Number(hm[2]), Number(hm[3])];
  const om = MS_OFFSET.exec(rest.slice(hm[0].length));
  if (om === null) throw extError('datetime', 'invalid millisecond and/or offset pattern');
  const ms = om[2] === undefined ? 0 : Number(om[2]);
  if (!validDate) throw extError('datetime', `invalid date: ${dm[0]}`);
  if (h > 23 || mi > 59 || sec > 59) throw extError('datetime', `invalid hour/minute/second: ${hm[0].slice(1)}`);
  let offsetSeconds = 0;
  if (om[4] !== undefined) {
    const oh = Number(om[6]);
    const omin = Number(om[7]);
    if (oh >= 24 || omin >= 60) throw extError('datetime', `invalid offset range: ${oh}${omin}`);
    offsetSeconds = (om[5] === '+' ? 1 : -1) * (oh * 3600 + omin * 60);
  }
  return new DateTime(days * DAY_MS + ((h * 60 + mi) * 60 + sec - offsetSeconds) * 1000 + ms || 0);
}

/** Parses `duration("...")`: `-?` then quantities of `d`, `h`, `m`, `s`, `ms`, largest first. */
export function parseDuration(s: string): Duration {
  if (s.length === 0 || s === '-') throw extError('duration', 'invalid duration pattern');
  const m = DURATION.exec(s);
  if (m === null) throw extError('duration', 'invalid duration pattern');
  const neg = s.startsWith('-');
  const overflow = () => extError('duration', 'Duration overflows internal representation');
  const num = (i: number): bigint => {
    const t = m[i];
    if (t === undefined) return 0n;
    const n = BigInt(t);
    if (n > 18446744073709551615n) throw overflow();
    return n;
  };
  const [d, h, mi, sec, ms] = [num(2), num(4), num(6), num(8), num(10)];
  let total = neg ? -ms : ms;
  if (!fitsI64(total)) throw overflow();
  for (const [q, unit] of [[sec, 1000n], [mi, 60000n], [h, 3600000n], [d, 86400000n]] as const) {
    if (!fitsI64(q)) throw overflow();
    const p = q * unit;
    if (!fitsI64(p)) throw overflow();
    total = neg ? total - p : total + p;
    if (!fitsI64(total)) throw overflow();
  }
  return new Duration(longFromBigInt(total));
}

function big(v: Long): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

function toDate(dt: DateTime): DateTime {
  const e = big(dt.ms);
  const day = BigInt(DAY_MS);
  const rem = ((e % day) + day) % day;
  return new DateTime(longFromBigInt(e - rem, 'overflows when computing the date'));
}

function toTime(dt: DateTime): Duration {
  const e = big(dt.ms);
  const day = BigInt(DAY_MS);
  let rem = e % day;
  if (e < 0n && rem !== 0n) rem += day;
  return new Duration(longFromBigInt(rem));
}

// ---- function table -----------------------------------------------------------------

function expect<T>(v: Value, ctor: abstract new (...args: never[]) => T, name: string): T {
  if (v instanceof ctor) return v;
  throw new CedarEvalError(`type error: expected ${name}, got ${typeName(v)}`);
}
function str(v: Value): string {
  if (typeof v === 'string') return v;
  throw new CedarEvalError(`type error: expected string, got ${typeName(v)}`);
}
const dec = (v: Value) => expect(v, Decimal, 'decimal');
const ip = (v: Value) => expect(v, IpAddr, 'ipaddr');
const dt = (v: Value) => expect(v, DateTime, 'datetime');
const dur = (v: Value) => expect(v, Duration, 'duration');

/** An extension function: its arity and implementation (throws CedarEvalError). */
export interface ExtensionFunction {
  arity: number;
  apply: (args: Value[]) => Value;
}

/** Every extension function of Cedar 4, by name. */
export const EXTENSION_FUNCTIONS: ReadonlyMap<string, ExtensionFunction> = new Map<string, ExtensionFunction>([
  ['decimal', { arity: 1, apply: ([a]) => parseDecimal(str(a!)) }],
  ['lessThan', { arity: 2, apply: ([a, b]) => dec(a!).scaled < dec(b!).scaled }],
  ['lessThanOrEqual', { arity: 2, apply: ([a, b]) => dec(a!).scaled <= dec(b!).scaled }],
  ['greaterThan', { arity: 2, apply: ([a, b]) => dec(a!).scaled > dec(b!).scaled }],
  ['greaterThanOrEqual', { arity: 2, apply: ([a, b]) => dec(a!).scaled >= dec(b!).scaled }],
  ['ip', { arity: 1, apply: ([a]) => parseIp(str(a!)) }],
  ['isIpv4', { arity: 1, apply: ([a]) => !ip(a!).v6 }],
  ['isIpv6', { arity: 1, apply: ([a]) => ip(a!).v6 }],
  ['isLoopback', { arity: 1, apply: ([a]) => { const x = ip(a!); return inRange(x, x.v6 ? LOOPBACK_V6 : LOOPBACK_V4); } }],
  ['isMulticast', { arity: 1, apply: ([a]) => { const x = ip(a!); return inRange(x, x.v6 ? MULTICAST_V6 : MULTICAST_V4); } }],
  ['isInRange', { arity: 2, apply: ([a, b]) => inRange(ip(a!), ip(b!)) }],
  ['datetime', { arity: 1, apply: ([a]) => parseDateTime(str(a!)) }],
  ['duration', { arity: 1, apply: ([a]) => parseDuration(str(a!)) }],
  ['offset', { arity: 2, apply: ([a, b]) => { const x = dt(a!); const d = dur(b!); return new DateTime(longFromBigInt(big(x.ms) + big(d.ms), 'overflows when adding an offset')); } }],
  ['durationSince', { arity: 2, apply: ([a, b]) => { const x = dt(a!); const y = dt(b!); return new Duration(longFromBigInt(big(x.ms) - big(y.ms), 'overflows when computing the duration')); } }],
  ['toDate', { arity: 1, apply: ([a]) => toDate(dt(a!)) }],
  ['toTime', { arity: 1, apply: ([a]) => toTime(dt(a!)) }],
  ['toMilliseconds', { arity: 1, apply: ([a]) => dur(a!).ms }],
  ['toSeconds', { arity: 1, apply: ([a]) => longDivTrunc(dur(a!).ms, 1000) }],
  ['toMinutes', { arity: 1, apply: ([a]) => longDivTrunc(dur(a!).ms, 60000) }],
  ['toHours', { arity: 1, apply: ([a]) => longDivTrunc(dur(a!).ms, 3600000) }],
  ['toDays', { arity: 1, apply: ([a]) => longDivTrunc(dur(a!).ms, 86400000) }],
]);

/** Extension type name -> constructor function name (for schema-directed JSON parsing). */
export const EXTENSION_CONSTRUCTORS: Readonly<Record<string, string>> = {
  decimal: 'decimal',
  ipaddr: 'ip',
  datetime: 'datetime',
  duration: 'duration',
};

/** The extension type name of a value, or undefined if it is not an extension value. */
export function extensionTypeOf(v: Value): string | undefined {
  if (v instanceof Decimal) return 'decimal';
  if (v instanceof IpAddr) return 'ipaddr';
  if (v instanceof DateTime) return 'datetime';
  if (v instanceof Duration) return 'duration';
  return undefined;
}
