import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LINE_TOO_LONG, PullDriver, line, skip, some, take, type Need } from './pull-driver.js';

/** A parser that records what it read: 3 bytes, a line, skips 5, then pieces to the end. */
function* recorder(log: string[], driver: () => PullDriver): Generator<Need, void, unknown> {
  const a = yield* take(3);
  log.push(`take:${a === null ? 'null' : Buffer.from(a).toString()}`);
  const l = yield* line(16);
  log.push(`line:${l === null ? 'null' : l === LINE_TOO_LONG ? 'long' : Buffer.from(l).toString()}`);
  log.push(`skip:${yield* skip(5)}`);
  log.push(`at:${driver().offset}`);
  let rest = '';
  for (let p = yield* some(4); p !== null; p = yield* some(4)) rest += Buffer.from(p).toString();
  log.push(`rest:${rest}`);
}

function run(input: Buffer, cuts: number[]): string[] {
  const log: string[] = [];
  let d: PullDriver | null = null;
  d = new PullDriver(() => recorder(log, () => d!));
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < input.length)].sort((a, b) => a - b)) {
    d.write(input.subarray(prev, c));
    prev = c;
  }
  d.write(input.subarray(prev));
  d.end();
  return log;
}

test('a parser sees the same bytes however the input is cut into chunks', () => {
  const input = Buffer.from('abcline one\n12345rest of the stream');
  const whole = run(input, []);
  assert.deepEqual(whole, ['take:abc', 'line:line one\n', 'skip:5', 'at:17', 'rest:rest of the stream']);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: input.length }), { maxLength: 12 }), (cuts) => {
      assert.deepEqual(run(input, cuts), whole);
    }),
    { numRuns: 300 },
  );
});

test('end of input answers pending needs with null or what was there', () => {
  assert.deepEqual(run(Buffer.from('ab'), []), ['take:null', 'line:null', 'skip:0', 'at:2', 'rest:']);
  assert.deepEqual(run(Buffer.from('abcxyz'), []), ['take:abc', 'line:null', 'skip:0', 'at:6', 'rest:']);
});

test('a line longer than its bound is refused, not held', () => {
  const log = run(Buffer.from(`abc${'x'.repeat(100)}\n`), [10, 50]);
  assert.equal(log[1], 'line:long');
});

test('a parser that throws ends the parse; the driver keeps the error and never throws', () => {
  const d = new PullDriver(function* () {
    yield* take(2);
    throw new Error('boom');
  });
  d.write(Buffer.from('abcdef'));
  d.end();
  assert.equal((d.error as Error).message, 'boom');
  assert.equal(d.finished, true);
  assert.equal(d.trailing, 4);
});

test('unread gives back the tail of a `some` piece', () => {
  const seen: string[] = [];
  let d: PullDriver | null = null;
  d = new PullDriver(function* () {
    const p = yield* some(100);
    seen.push(Buffer.from(p!).toString());
    d!.unread(3);
    const q = yield* take(3);
    seen.push(Buffer.from(q!).toString());
  });
  d.write(Buffer.from('hello world'));
  d.end();
  assert.deepEqual(seen, ['hello world', 'rld']);
});
