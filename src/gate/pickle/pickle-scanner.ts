/**
 * A pickle disassembler with a symbolic stack: it walks every opcode of protocols 0-5
 * without executing anything, tracks enough of the values (strings, small containers,
 * globals, memo) to know which Python globals the stream would import, and judges each
 * against the allowlist (safe-globals.ts). A global that is not allowlisted, a
 * STACK_GLOBAL whose operands cannot be resolved statically (a computed or opaque
 * string), an EXT opcode (the loader's copyreg extension registry is unknowable here) and
 * a malformed stream are all findings: the judgement fails closed.
 *
 * Also understood: the legacy (pre-zip) PyTorch format (five pickles in a row, then raw
 * storages), joblib's NumpyArrayWrapper (raw array bytes, or a nested pickle for object
 * arrays, written into the file right after the wrapper's BUILD), several binary pickles
 * in one file.
 *
 * Memory is bounded by GateLimits: stack depth, memo entries, items tracked inside
 * containers and characters of strings kept; past a budget values become opaque (which
 * can only make the verdict stricter), past a hard limit the scan stops with `scan-limit`.
 */
import type { ScopedFindings } from '../core/findings.js';
import type { GateLimits } from '../core/limits.js';
import { LINE_TOO_LONG, line, skip, some, take, type Need, type PullDriver } from '../core/pull-driver.js';
import { OP, opcodeName } from './opcodes.js';
import { canonicalGlobal, isKnownDangerous, isSafeGlobal } from './safe-globals.js';

/** A value on the symbolic stack. Containers hold `null` items once they are too big to track. */
type Val =
  | { k: 'str'; s: string | null }
  | { k: 'bytes' }
  | { k: 'int'; v: number | bigint | null }
  | { k: 'float' }
  | { k: 'none' }
  | { k: 'bool'; v: boolean }
  | { k: 'tuple'; items: Val[] | null }
  | { k: 'list'; items: Val[] | null }
  | { k: 'dict'; entries: [Val, Val][] | null }
  | { k: 'set' }
  | { k: 'global'; module: string; name: string }
  | { k: 'obj'; cls: string | null; args: Val | null; state: Val | null }
  | { k: 'unknown' };

const UNKNOWN: Val = { k: 'unknown' };
const NONE: Val = { k: 'none' };
const FLOAT: Val = { k: 'float' };
const BYTES: Val = { k: 'bytes' };
const OPAQUE_STR: Val = { k: 'str', s: null };
const MARK = Symbol('mark');
const EMPTY_BYTES = new Uint8Array(0);
/** Longest string kept as text (module and attribute names are far shorter). */
const MAX_KEPT_STRING = 256;
/** Longest protocol-0 argument line. */
const MAX_LINE = 64 * 1024;
/** Items kept per container. */
const MAX_CONTAINER_ITEMS = 64;
/** The magic number the legacy PyTorch format pickles first. */
const TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const JOBLIB_WRAPPER = 'joblib.numpy_pickle.NumpyArrayWrapper';

/** Shared state of one scan: where findings go, the driver (for offsets) and the budgets. */
export interface PickleScanContext {
  findings: ScopedFindings;
  driver: PullDriver;
  limits: GateLimits;
  /** Remaining container items and string characters the scan may still track. */
  budget: { items: number; chars: number };
}

/** A fresh budget from the limits. */
export function pickleBudget(limits: GateLimits): PickleScanContext['budget'] {
  return { items: limits.pickleTrackedItems, chars: limits.pickleStringChars };
}

/** Stops the walk of one pickle. */
class Stop extends Error {
  constructor(readonly reason: 'malformed' | 'limit') {
    super(reason);
  }
}

/**
 * Parses a whole stream of pickles (the parser of a PullDriver). `maxPickles` bounds how
 * many consecutive pickles are read (1 for npy payloads); further binary pickles
 * (starting with PROTO) are scanned, anything else after a STOP is `pickle-trailing-data`.
 */
export function* scanPickleStream(ctx: PickleScanContext, maxPickles = Infinity): Generator<Need, void, unknown> {
  let count = 0;
  let legacyTorch = false;
  for (;;) {
    const at = ctx.driver.offset;
    const first = yield* take(1);
    if (first === null) {
      if (count === 0) ctx.findings.add('pickle-malformed', { offset: at }, 'empty pickle');
      return;
    }
    const op = first[0]!;
    if (count > 0 && !legacyTorch && op !== OP.PROTO) {
      // INVARIANT: bytes after a pickle are not silently ignored: a second load() would run them
      ctx.findings.add('pickle-trailing-data', { offset: at }, 'bytes after the end of the pickle');
      return;
    }
    const top = yield* scanOnePickle(ctx, op, 0);
    if (top === false) return;
    count++;
    if (count === 1 && top.k === 'int' && typeof top.v === 'bigint' && top.v === TORCH_LEGACY_MAGIC) legacyTorch = true;
    // legacy torch.load reads exactly five pickles, then raw storage bytes
    if (legacyTorch && count === 5) return;
    if (count >= maxPickles) {
      const rest = yield* take(1);
      if (rest !== null) ctx.findings.add('pickle-trailing-data', { offset: ctx.driver.offset - 1 }, 'bytes after the end of the pickle');
      return;
    }
  }
}

/**
 * Walks one pickle from its first opcode `firstOp` to STOP. Returns the value STOP would
 * return, or false when the walk stopped early (malformed, limit), after recording why.
 */
export function* scanOnePickle(ctx: PickleScanContext, firstOp: number, depth: number): Generator<Need, Val | false, unknown> {
  const { findings, driver, limits, budget } = ctx;
  const stack: (Val | typeof MARK)[] = [];
  const memo = new Map<number, Val>();
  let memoOverflow = false;
  let op = firstOp;
  let opAt = driver.offset - 1;

  const fail = (reason: 'malformed' | 'limit', why: string): never => {
    findings.add(reason === 'limit' ? 'scan-limit' : 'pickle-malformed', { offset: opAt }, why);
    throw new Stop(reason);
  };
  const push = (v: Val | typeof MARK) => {
    if (stack.length >= limits.pickleMaxStack) fail('limit', `pickle stack deeper than ${limits.pickleMaxStack}`);
    stack.push(v);
  };
  const pop = (): Val => {
    const v = stack.pop();
    if (v === undefined || v === MARK) fail('malformed', `stack underflow at ${opcodeName(op)}`);
    return v as Val;
  };
  const peek = (): Val => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('malformed', `stack underflow at ${opcodeName(op)}`);
    return v as Val;
  };
  const popMark = (): Val[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('malformed', `no mark at ${opcodeName(op)}`);
    const items = stack.splice(at);
    items.shift();
    return items as Val[];
  };
  const track = (items: Val[]): Val[] | null => {
    if (items.length > MAX_CONTAINER_ITEMS || budget.items < items.length) return null;
    budget.items -= items.length;
    return items;
  };
  const str = (s: string): Val => {
    if (s.length > MAX_KEPT_STRING || budget.chars < s.length) return OPAQUE_STR;
    budget.chars -= s.length;
    return { k: 'str', s };
  };
  const judge = (rawModule: string, rawName: string): Val => {
    const [module, name] = canonicalGlobal(rawModule, rawName);
    if (!isSafeGlobal(module, name)) {
      const type = isKnownDangerous(module, name) ? 'pickle-dangerous-global' : 'pickle-unknown-global';
      findings.add(type, { offset: opAt }, `${rawModule}.${rawName}`);
    }
    return { k: 'global', module, name };
  };
  const callResult = (callable: Val, args: Val | null): Val => {
    if (callable.k === 'global') {
      // copyreg._reconstructor(cls, base, state) and copyreg.__newobj__(cls, ...) make an instance of cls
      const first = args?.k === 'tuple' ? args.items?.[0] : undefined;
      if (callable.module === 'copyreg' && (callable.name === '_reconstructor' || callable.name === '__newobj__') && first?.k === 'global') {
        return { k: 'obj', cls: `${first.module}.${first.name}`, args, state: null };
      }
      return { k: 'obj', cls: `${callable.module}.${callable.name}`, args, state: null };
    }
    if (callable.k !== 'obj' && callable.k !== 'unknown') fail('malformed', `${opcodeName(op)} on a ${callable.k}`);
    return { k: 'obj', cls: null, args, state: null };
  };
  // Opcodes are read from a local piece of the input (no allocation, no generator per
  // opcode); anything that must yield gives the unread rest of the piece back first.
  let buf: Uint8Array = EMPTY_BYTES;
  let pos = 0;
  const flush = () => {
    if (pos < buf.length) driver.unread(buf.length - pos);
    buf = EMPTY_BYTES;
    pos = 0;
  };
  const have = (n: number) => buf.length - pos >= n;
  /** Makes `n` bytes readable at `pos` (slow path: the bytes straddle pieces). */
  const ensure = function* (n: number): Generator<Need, true, unknown> {
    flush();
    const b = yield* take(n);
    if (b === null) fail('malformed', 'truncated pickle');
    buf = b!;
    pos = 0;
    return true;
  };
  const u8 = () => buf[pos++]!;
  const u16 = () => {
    const v = buf[pos]! | (buf[pos + 1]! << 8);
    pos += 2;
    return v;
  };
  const u32 = () => {
    const v = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16)) + buf[pos + 3]! * 0x1000000;
    pos += 4;
    return v;
  };
  const i32 = () => u32() | 0;
  const u64 = () => {
    const lo = BigInt(u32());
    return (BigInt(u32()) << 32n) | lo;
  };
  const bytes = (n: number) => {
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const readLine = function* (): Generator<Need, string, unknown> {
    flush();
    const l = yield* line(MAX_LINE);
    if (l === null) fail('malformed', 'truncated pickle');
    if (l === LINE_TOO_LONG) fail('malformed', `argument line of ${opcodeName(op)} too long`);
    const lb = l as Uint8Array;
    let end = lb.length - 1;
    if (end > 0 && lb[end - 1] === 13) end--;
    return Buffer.from(lb.buffer, lb.byteOffset, end).toString('utf8');
  };
  /** Reads (if short) or skips (if long) a length-prefixed payload. */
  const payload = function* (len: number | bigint, asText: boolean): Generator<Need, Val, unknown> {
    const n = typeof len === 'bigint' ? len : BigInt(len);
    if (n < 0n) fail('malformed', `negative length at ${opcodeName(op)}`);
    if (asText && n <= BigInt(MAX_KEPT_STRING * 4)) {
      const k = Number(n);
      if (!have(k)) yield* ensure(k);
      const b = bytes(k);
      return str(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8'));
    }
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail('malformed', `length beyond the stream at ${opcodeName(op)}`);
    let k = Number(n);
    const here = Math.min(k, buf.length - pos);
    pos += here;
    k -= here;
    if (k > 0) {
      flush();
      if ((yield* skip(k)) < k) fail('malformed', 'truncated pickle');
    }
    return asText ? OPAQUE_STR : BYTES;
  };
  const memoGet = (key: number): Val => {
    const v = memo.get(key);
    if (v !== undefined) return v;
    if (memoOverflow) return UNKNOWN;
    return fail('malformed', `memo key ${key} was never stored`);
  };
  const memoPut = (key: number, v: Val) => {
    if (!memo.has(key) && memo.size >= limits.pickleMaxMemo) {
      memoOverflow = true;
      return;
    }
    memo.set(key, v);
  };
  const intArg = (s: string): bigint | null => {
    const t = s.trim().replace(/L$/, '');
    return /^[-+]?\d{1,40}$/.test(t) ? BigInt(t) : null;
  };

  try {
    for (;;) {
      switch (op) {
        case OP.PROTO: {
          const v = (have(1) || (yield* ensure(1)), u8());
          if (v > 5) fail('malformed', `unsupported pickle protocol ${v}`);
          break;
        }
        case OP.FRAME:
          if (!have(8)) yield* ensure(8);
          pos += 8;
          break;
        case OP.STOP: {
          const top = pop();
          flush();
          return top;
        }
        case OP.MARK:
          push(MARK);
          break;
        case OP.POP:
          if (stack.length > 0 && stack[stack.length - 1] === MARK) stack.pop();
          else pop();
          break;
        case OP.POP_MARK:
          popMark();
          break;
        case OP.DUP:
          push(peek());
          break;
        case OP.NONE:
          push(NONE);
          break;
        case OP.NEWTRUE:
        case OP.NEWFALSE:
          push({ k: 'bool', v: op === OP.NEWTRUE });
          break;
        case OP.INT: {
          const s = yield* readLine();
          if (s === '01' || s === '00') push({ k: 'bool', v: s === '01' });
          else push({ k: 'int', v: intArg(s) });
          break;
        }
        case OP.LONG:
          push({ k: 'int', v: intArg(yield* readLine()) });
          break;
        case OP.FLOAT:
          yield* readLine();
          push(FLOAT);
          break;
        case OP.BININT:
          push({ k: 'int', v: (have(4) || (yield* ensure(4)), i32()) });
          break;
        case OP.BININT1:
          push({ k: 'int', v: (have(1) || (yield* ensure(1)), u8()) });
          break;
        case OP.BININT2:
          push({ k: 'int', v: (have(2) || (yield* ensure(2)), u16()) });
          break;
        case OP.BINFLOAT:
          if (!have(8)) yield* ensure(8);
          pos += 8;
          push(FLOAT);
          break;
        case OP.LONG1: {
          const n = (have(1) || (yield* ensure(1)), u8());
          if (!have(n)) yield* ensure(n);
          const b = bytes(n);
          push({ k: 'int', v: n === 0 ? 0n : leSigned(b) });
          break;
        }
        case OP.LONG4: {
          const n = (have(4) || (yield* ensure(4)), i32());
          if (n < 0) fail('malformed', 'negative LONG4 length');
          if (n <= 64) push({ k: 'int', v: n === 0 ? 0n : (have(n) || (yield* ensure(n)), leSigned(bytes(n))) });
          else {
            yield* payload(n, false);
            push({ k: 'int', v: null });
          }
          break;
        }
        case OP.STRING: {
          const s = yield* readLine();
          push(str(pythonStringLiteral(s) ?? fail('malformed', 'bad STRING literal')));
          break;
        }
        case OP.UNICODE:
          push(str(rawUnicodeEscape(yield* readLine())));
          break;
        case OP.BINSTRING:
          push(yield* payload((have(4) || (yield* ensure(4)), i32()), true));
          break;
        case OP.SHORT_BINSTRING:
        case OP.SHORT_BINUNICODE:
          push(yield* payload((have(1) || (yield* ensure(1)), u8()), true));
          break;
        case OP.BINUNICODE:
          push(yield* payload((have(4) || (yield* ensure(4)), u32()), true));
          break;
        case OP.BINUNICODE8:
          push(yield* payload((have(8) || (yield* ensure(8)), u64()), true));
          break;
        case OP.BINBYTES:
          push(yield* payload((have(4) || (yield* ensure(4)), u32()), false));
          break;
        case OP.SHORT_BINBYTES:
          push(yield* payload((have(1) || (yield* ensure(1)), u8()), false));
          break;
        case OP.BINBYTES8:
        case OP.BYTEARRAY8:
          push(yield* payload((have(8) || (yield* ensure(8)), u64()), false));
          break;
        case OP.NEXT_BUFFER:
          push(BYTES);
          break;
        case OP.READONLY_BUFFER:
          peek();
          break;
        case OP.EMPTY_TUPLE:
          push({ k: 'tuple', items: [] });
          break;
        case OP.TUPLE:
          push({ k: 'tuple', items: track(popMark()) });
          break;
        case OP.TUPLE1:
        case OP.TUPLE2:
        case OP.TUPLE3: {
          const n = op - OP.TUPLE1 + 1;
          const items: Val[] = [];
          for (let i = 0; i < n; i++) items.unshift(pop());
          push({ k: 'tuple', items: track(items) });
          break;
        }
        case OP.EMPTY_LIST:
          push({ k: 'list', items: [] });
          break;
        case OP.LIST:
          push({ k: 'list', items: track(popMark()) });
          break;
        case OP.APPEND:
        case OP.APPENDS: {
          const added = op === OP.APPEND ? [pop()] : popMark();
          const target = peek();
          if (target.k === 'list') target.items = target.items === null ? null : appendTracked(target.items, added, budget);
          else if (target.k !== 'obj' && target.k !== 'unknown') fail('malformed', `${opcodeName(op)} on a ${target.k}`);
          break;
        }
        case OP.EMPTY_DICT:
          push({ k: 'dict', entries: [] });
          break;
        case OP.DICT: {
          const items = popMark();
          if (items.length % 2 !== 0) fail('malformed', 'odd number of DICT items');
          push({ k: 'dict', entries: pairs(items, budget) });
          break;
        }
        case OP.SETITEM:
        case OP.SETITEMS: {
          const items = op === OP.SETITEMS ? popMark() : (() => {
            const v = pop();
            const key = pop();
            return [key, v];
          })();
          if (items.length % 2 !== 0) fail('malformed', 'odd number of SETITEMS items');
          const target = peek();
          if (target.k === 'dict') {
            const more = pairs(items, budget);
            target.entries = target.entries === null || more === null || target.entries.length + more.length > MAX_CONTAINER_ITEMS ? null : [...target.entries, ...more];
          } else if (target.k !== 'obj' && target.k !== 'unknown') fail('malformed', `${opcodeName(op)} on a ${target.k}`);
          break;
        }
        case OP.EMPTY_SET:
          push({ k: 'set' });
          break;
        case OP.ADDITEMS:
          popMark();
          peek();
          break;
        case OP.FROZENSET:
          popMark();
          push({ k: 'set' });
          break;
        case OP.GET:
        case OP.BINGET:
        case OP.LONG_BINGET: {
          const key = op === OP.GET ? Number(intArg(yield* readLine()) ?? fail('malformed', 'bad GET index')) : op === OP.BINGET ? (have(1) || (yield* ensure(1)), u8()) : (have(4) || (yield* ensure(4)), u32());
          push(memoGet(key));
          break;
        }
        case OP.PUT:
        case OP.BINPUT:
        case OP.LONG_BINPUT: {
          const key = op === OP.PUT ? Number(intArg(yield* readLine()) ?? fail('malformed', 'bad PUT index')) : op === OP.BINPUT ? (have(1) || (yield* ensure(1)), u8()) : (have(4) || (yield* ensure(4)), u32());
          if (key < 0) fail('malformed', 'negative memo key');
          memoPut(key, peek());
          break;
        }
        case OP.MEMOIZE:
          memoPut(memo.size, peek());
          break;
        case OP.GLOBAL: {
          const module = yield* readLine();
          const name = yield* readLine();
          push(judge(module, name));
          break;
        }
        case OP.STACK_GLOBAL: {
          const name = pop();
          const module = pop();
          if (module.k === 'str' && module.s !== null && name.k === 'str' && name.s !== null) push(judge(module.s, name.s));
          else {
            // INVARIANT: a global whose name is not a known constant string is unsafe
            findings.add('pickle-unresolved-global', { offset: opAt }, 'STACK_GLOBAL operands are not constant strings');
            push(UNKNOWN);
          }
          break;
        }
        case OP.INST: {
          const module = yield* readLine();
          const name = yield* readLine();
          const cls = judge(module, name);
          const args = popMark();
          push(callResult(cls, { k: 'tuple', items: track(args) }));
          break;
        }
        case OP.OBJ: {
          const items = popMark();
          const cls = items.shift();
          if (cls === undefined) fail('malformed', 'OBJ without a class');
          push(callResult(cls!, { k: 'tuple', items: track(items) }));
          break;
        }
        case OP.REDUCE: {
          const args = pop();
          const callable = pop();
          push(callResult(callable, args));
          break;
        }
        case OP.NEWOBJ: {
          const args = pop();
          const cls = pop();
          push(callResult(cls, args));
          break;
        }
        case OP.NEWOBJ_EX: {
          pop();
          const args = pop();
          const cls = pop();
          push(callResult(cls, args));
          break;
        }
        case OP.BUILD: {
          const state = pop();
          const target = peek();
          if (target.k === 'obj') {
            target.state = state;
            if (target.cls === JOBLIB_WRAPPER) {
              flush();
              const ok = yield* skipJoblibArray(ctx, target, depth);
              if (!ok) throw new Stop('limit');
            }
          } else if (target.k !== 'unknown' && target.k !== 'global') fail('malformed', `BUILD on a ${target.k}`);
          break;
        }
        case OP.EXT1:
        case OP.EXT2:
        case OP.EXT4: {
          const n = op === OP.EXT1 ? 1 : op === OP.EXT2 ? 2 : 4;
          if (!have(n)) yield* ensure(n);
          pos += n;
          // INVARIANT: the copyreg extension registry maps codes to arbitrary globals of the loading process
          findings.add('pickle-extension-code', { offset: opAt }, `${opcodeName(op)}: global from the copyreg extension registry`);
          push(UNKNOWN);
          break;
        }
        case OP.PERSID:
          yield* readLine();
          push(UNKNOWN);
          break;
        case OP.BINPERSID:
          pop();
          push(UNKNOWN);
          break;
        default:
          fail('malformed', `invalid opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
      if (pos >= buf.length) {
        const piece = yield* some(64 * 1024);
        if (piece === null) {
          opAt = driver.offset;
          fail('malformed', 'truncated pickle: no STOP');
        }
        buf = piece!;
        pos = 0;
      }
      opAt = driver.offset - (buf.length - pos);
      op = buf[pos++]!;
    }
  } catch (err) {
    if (err instanceof Stop) {
      flush();
      return false;
    }
    throw err;
  }
}

/**
 * joblib writes an array's bytes straight into the file after the wrapper's BUILD (after
 * an alignment padding byte and its padding when the wrapper records an alignment), or a
 * nested pickle for object arrays. Returns false (after a finding) when the size cannot be
 * known: the rest of the stream could not be parsed.
 */
function* skipJoblibArray(ctx: PickleScanContext, wrapper: Extract<Val, { k: 'obj' }>, depth: number): Generator<Need, boolean, unknown> {
  const at = ctx.driver.offset;
  const state = wrapper.state;
  const get = (key: string): Val | undefined => (state?.k === 'dict' ? state.entries?.find(([k]) => k.k === 'str' && k.s === key)?.[1] : undefined);
  const shape = get('shape');
  const dtype = describeDtype(get('dtype'));
  const aligned = get('numpy_array_alignment_bytes');
  if (dtype === null || shape === undefined || shape.k !== 'tuple' || shape.items === null) {
    ctx.findings.add('scan-limit', { offset: at }, 'joblib array wrapper with an untracked shape or dtype');
    return false;
  }
  if (dtype.hasObject) {
    if (depth + 1 > ctx.limits.maxNesting) {
      ctx.findings.add('scan-limit', { offset: at }, 'pickles nested too deep');
      return false;
    }
    const first = yield* take(1);
    if (first === null) {
      ctx.findings.add('pickle-malformed', { offset: at }, 'joblib object array missing');
      return false;
    }
    const inner = yield* scanOnePickle(ctx, first[0]!, depth + 1);
    return inner !== false;
  }
  let count = 1n;
  for (const d of shape.items) {
    if (d.k !== 'int' || d.v === null || d.v < 0) {
      ctx.findings.add('scan-limit', { offset: at }, 'joblib array wrapper with an untracked shape');
      return false;
    }
    count *= BigInt(d.v);
  }
  if (aligned !== undefined && aligned.k !== 'none') {
    const pad = yield* take(1);
    if (pad === null || (yield* skip(pad[0]!)) < pad[0]!) {
      ctx.findings.add('pickle-malformed', { offset: at }, 'truncated joblib array');
      return false;
    }
  }
  const bytes = count * BigInt(dtype.itemSize);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER) || (yield* skip(Number(bytes))) < Number(bytes)) {
    ctx.findings.add('pickle-malformed', { offset: at }, 'truncated joblib array');
    return false;
  }
  return true;
}

/** Item size and object-ness of a symbolic `numpy.dtype(typestr, ...)` (+ BUILD state), or null. */
function describeDtype(v: Val | undefined): { itemSize: number; hasObject: boolean } | null {
  if (v === undefined || v.k !== 'obj' || v.cls !== 'numpy.dtype' || v.args?.k !== 'tuple' || v.args.items === null) return null;
  const t = v.args.items[0];
  if (t === undefined || t.k !== 'str' || t.s === null) return null;
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(t.s);
  if (m === null) return null;
  const kind = m[2]!;
  const n = m[3] === '' ? null : Number(m[3]);
  // BUILD state: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
  const st = v.state?.k === 'tuple' && v.state.items !== null ? v.state.items : null;
  const flags = st?.[7];
  const elsize = st?.[5];
  const hasObject = kind === 'O' || (flags?.k === 'int' && flags.v !== null && (BigInt(flags.v) & 1n) === 1n);
  if (hasObject) return { itemSize: 8, hasObject: true };
  if (elsize?.k === 'int' && elsize.v !== null && elsize.v > 0) return { itemSize: Number(elsize.v), hasObject: false };
  const sizes: Record<string, number> = { b: 1, B: 1, '?': 1 };
  if (kind === 'U' && n !== null) return { itemSize: 4 * n, hasObject: false };
  if (n !== null && n > 0) return { itemSize: n, hasObject: false };
  const fixed = sizes[kind];
  return fixed === undefined ? null : { itemSize: fixed, hasObject: false };
}

function appendTracked(items: Val[], added: Val[], budget: PickleScanContext['budget']): Val[] | null {
  if (items.length + added.length > MAX_CONTAINER_ITEMS || budget.items < added.length) return null;
  budget.items -= added.length;
  items.push(...added);
  return items;
}

function pairs(items: Val[], budget: PickleScanContext['budget']): [Val, Val][] | null {
  if (items.length / 2 > MAX_CONTAINER_ITEMS || budget.items < items.length) return null;
  budget.items -= items.length;
  const out: [Val, Val][] = [];
  for (let i = 0; i < items.length; i += 2) out.push([items[i]!, items[i + 1]!]);
  return out;
}

/** Two's complement little-endian integer (LONG1/LONG4). */
function leSigned(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if ((b[b.length - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
  return v;
}

/** Decodes a protocol-0 STRING argument (`'text'` or `"text"` with Python escapes); null if malformed. */
export function pythonStringLiteral(s: string): string | null {
  if (s.length < 2 || (s[0] !== "'" && s[0] !== '"') || s[s.length - 1] !== s[0]) return null;
  const body = s.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return null;
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
    if (simple[e] !== undefined) out += simple[e];
    else if (e === 'x') {
      const h = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return null;
      out += String.fromCharCode(parseInt(h, 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const o = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCharCode(parseInt(o, 8) & 0xff);
      i += o.length - 1;
    } else out += `\\${e}`;
  }
  return out;
}

/** Decodes Python's raw-unicode-escape (`\uXXXX`, `\UXXXXXXXX`; everything else literal). */
export function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}
