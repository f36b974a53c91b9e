import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FindingCollector, ScopedFindings } from '../core/findings.js';
import { DEFAULT_LIMITS, resolveLimits, type GateLimits } from '../core/limits.js';
import { PullDriver } from '../core/pull-driver.js';
import type { Verdict } from '../core/verdict.js';
import { pickleBudget, pythonStringLiteral, rawUnicodeEscape, scanPickleStream, type PickleScanContext } from './pickle-scanner.js';
import { canonicalGlobal, isSafeGlobal } from './safe-globals.js';

function scan(bytes: Uint8Array, chunk = bytes.length || 1, limits: GateLimits = DEFAULT_LIMITS): Verdict {
  const c = new FindingCollector('unsafe-code');
  const ctx = { findings: new ScopedFindings(c, undefined), limits, budget: pickleBudget(limits) } as PickleScanContext;
  const d = new PullDriver((driver) => {
    ctx.driver = driver;
    return scanPickleStream(ctx);
  });
  for (let i = 0; i < bytes.length; i += chunk) d.write(bytes.subarray(i, i + chunk));
  d.end();
  assert.equal(d.error, null);
  return c.verdict();
}

const s = (text: string) => Buffer.from(text, 'latin1');
/** SHORT_BINUNICODE of `v`. */
const u = (v: string) => Buffer.concat([Buffer.from([0x8c, v.length]), Buffer.from(v)]);
const p4 = (...parts: Buffer[]) => Buffer.concat([Buffer.from([0x80, 4]), ...parts, s('.')]);

test('allowlisted globals are clean; anything else is a finding, whatever its name', () => {
  assert.equal(scan(s('ccollections\nOrderedDict\n)R.')).outcome, 'clean');
  assert.equal(scan(s('ctorch._utils\n_rebuild_tensor_v2\n.')).outcome, 'clean');
  const v = scan(s('cos\nsystem\n(S\'id\'\ntR.'));
  assert.deepEqual(v.counts, { 'pickle-dangerous-global': 1 });
  assert.equal(v.findings[0]!.detail, 'os.system');
  assert.equal(v.findings[0]!.location.offset, 0);
  assert.deepEqual(scan(s('cmypackage.models\nNet\n)R.')).counts, { 'pickle-unknown-global': 1 });
});

test('python 2 names are judged as pickle maps them', () => {
  assert.deepEqual(canonicalGlobal('__builtin__', 'set'), ['builtins', 'set']);
  assert.equal(scan(s('c__builtin__\nset\n(]tR.')).outcome, 'clean');
  assert.equal(scan(s('c__builtin__\neval\n(S\'1\'\ntR.')).counts['pickle-dangerous-global'], 1);
  assert.equal(isSafeGlobal('builtins', 'eval'), false);
});

test('STACK_GLOBAL is resolved through the memo (MEMOIZE, BINPUT/BINGET, LONG_BINPUT)', () => {
  const memoize = p4(u('os'), s('\x94'), u('system'), s('\x94'), s('00'), s('h\x00h\x01\x93'), u('id'), s('\x85R'));
  assert.equal(scan(memoize).findings[0]!.detail, 'os.system');
  const long = p4(u('posix'), s('r\xff\xff\xff\xff0'), u('system'), s('r\x00\x00\x00\x800'), s('j\xff\xff\xff\xffj\x00\x00\x00\x80\x93.'));
  assert.equal(scan(long).findings[0]!.detail, 'posix.system');
});

test('a STACK_GLOBAL on a computed string is unresolved, hence unsafe', () => {
  // _codecs.encode is allowlisted; its result is not a constant
  const v = scan(p4(u('_codecs'), u('encode'), s('\x93'), u('bf'), u('rot13'), s('\x86R'), u('system'), s('\x93')));
  assert.deepEqual(v.counts, { 'pickle-unresolved-global': 1 });
});

test('EXT opcodes, INST and OBJ are judged', () => {
  assert.deepEqual(scan(s('\x80\x02\x82\x01)R.')).counts, { 'pickle-extension-code': 1 });
  assert.equal(scan(s("(S'id'\nios\nsystem\n.")).findings[0]!.detail, 'os.system');
  assert.equal(scan(s("(cos\nsystem\nS'id'\no.")).findings[0]!.detail, 'os.system');
});

test('malformed streams are findings: bad opcode, underflow, missing memo, truncation, trailing bytes', () => {
  assert.equal(scan(s('\x80\x04\xff.')).counts['pickle-malformed'], 1);
  assert.equal(scan(s('R.')).counts['pickle-malformed'], 1);
  assert.equal(scan(s('\x80\x04h\x05.')).counts['pickle-malformed'], 1);
  assert.equal(scan(s('\x80\x04\x8c\x10ab')).counts['pickle-malformed'], 1);
  assert.equal(scan(s('')).counts['pickle-malformed'], 1);
  assert.deepEqual(scan(s('N.garbage')).counts, { 'pickle-trailing-data': 1 });
  // a second binary pickle is scanned as such
  assert.deepEqual(scan(Buffer.concat([s('\x80\x02N.'), s('\x80\x02cos\nsystem\n.')])).counts, { 'pickle-dangerous-global': 1 });
});

test('declared lengths are skipped, never allocated: an 8 EiB BINBYTES8 is a truncation, not an allocation', () => {
  const v = scan(s('\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f'));
  assert.equal(v.counts['pickle-malformed'], 1);
});

test('hostile memo indexes and stack depth stay within the limits', () => {
  // a million distinct LONG_BINPUT keys with a memo limit of 1000: no error, later GETs are opaque
  const parts: Buffer[] = [s('\x80\x04N')];
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.alloc(5);
    b[0] = 0x72;
    b.writeUInt32LE(i * 858_993, 1);
    parts.push(b);
  }
  parts.push(s('j\x00\x00\x00\x000.'));
  const v = scan(Buffer.concat(parts), 4096, resolveLimits({ pickleMaxMemo: 1000 }));
  assert.equal(v.outcome, 'clean');
  const deep = Buffer.concat([s('\x80\x04'), Buffer.alloc(10_000, 0x28), s('.')]);
  assert.equal(scan(deep, 777, resolveLimits({ pickleMaxStack: 1000 })).counts['scan-limit'], 1);
});

test('the verdict does not depend on how the stream is cut', () => {
  const evil = p4(u('os'), s('\x94'), u('system'), s('\x94\x93'), u('id'), s('\x85R'));
  const whole = scan(evil);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: evil.length }), (chunk) => {
      assert.deepEqual(scan(evil, chunk), whole);
    }),
  );
});

test('protocol-0 string literals and raw-unicode-escape decode as Python does', () => {
  assert.equal(pythonStringLiteral("'o\\x73'"), 'os');
  assert.equal(pythonStringLiteral('"a\\\'b"'), "a'b");
  assert.equal(pythonStringLiteral("'unterminated"), null);
  assert.equal(rawUnicodeEscape('\\u006fs'), 'os');
  assert.equal(scan(s("c__builtin__\ngetattr\n(S'\\x6fs'\ntR.")).counts['pickle-dangerous-global'], 1);
});
