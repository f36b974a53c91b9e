import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_EVIDENCE } from '../finding.js';
import { Deque } from './deque.js';
import { EvidenceRing } from './evidence-ring.js';
import { KeyedSlotSums } from './keyed-slot-sums.js';
import { RecentKeys } from './recent-keys.js';
import { SlotSums } from './slot-sums.js';

// The sliding-window structures against plain models (lists filtered at every step),
// capacities overflowed included, with an encode/decode round trip anywhere.

/** Steps of a monotone clock: each moves the slot forward by 0-3 and touches one of `keys` keys with a value. */
const arbSteps = (keys: number) => fc.array(fc.record({ dSlot: fc.constantFrom(0, 0, 0, 1, 1, 2, 3), key: fc.integer({ min: 0, max: keys - 1 }), value: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 300, size: 'max' });

void test('property: Deque behaves as an array used as a queue', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 500 }), (ops) => {
      const d = new Deque<number>();
      const model: number[] = [];
      for (const op of ops) {
        if (op === null) assert.equal(d.shift(), model.shift());
        else {
          d.push(op);
          model.push(op);
        }
        assert.equal(d.length, model.length);
        assert.equal(d.front(), model[0]);
        assert.equal(d.back(), model.at(-1));
      }
      assert.deepEqual([...d], model);
    }),
  );
});

void test('property: SlotSums holds the sums of the slots in the window, across a round trip', () => {
  fc.assert(
    fc.property(arbSteps(3), fc.integer({ min: 1, max: 10 }), fc.nat(), (steps, span, cut) => {
      let sums = new SlotSums(3);
      const model: Array<{ slot: number; i: number; v: number }> = [];
      let slot = 100;
      steps.forEach((s, n) => {
        if (n === cut % (steps.length + 1)) sums = SlotSums.decode(JSON.parse(JSON.stringify(sums.encode())), 3, 'sums');
        slot += s.dSlot;
        sums.expire(slot - span + 1);
        sums.add(slot, s.key, s.value);
        model.push({ slot, i: s.key, v: s.value });
        const live = model.filter((m) => m.slot > slot - span);
        for (let i = 0; i < 3; i++) assert.equal(sums.total(i), live.filter((m) => m.i === i).reduce((a, m) => a + m.v, 0));
        assert.ok(sums.slots <= span);
      });
    }),
  );
});

/** The model of a keyed window with capacity: keys in order of last sighting, each with its (slot, value) pairs. */
class KeyedModel {
  keys: Array<{ key: string; pairs: Array<[number, number]> }> = [];
  constructor(readonly capacity: number) {}
  add(key: string, slot: number, value: number): void {
    const i = this.keys.findIndex((k) => k.key === key);
    const entry = i < 0 ? { key, pairs: [] as Array<[number, number]> } : this.keys.splice(i, 1)[0]!;
    entry.pairs.push([slot, value]);
    this.keys.push(entry);
    if (this.keys.length > this.capacity) this.keys.shift();
  }
  expire(minSlot: number): void {
    for (const k of this.keys) k.pairs = k.pairs.filter(([s]) => s >= minSlot);
    this.keys = this.keys.filter((k) => k.pairs.length > 0);
  }
  sumOf(k: { pairs: Array<[number, number]> }): number {
    return k.pairs.reduce((a, [, v]) => a + v, 0);
  }
}

void test('property: KeyedSlotSums holds per-key window sums and the largest, dropping the least recently seen key beyond capacity, across a round trip', () => {
  fc.assert(
    fc.property(arbSteps(12), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (steps, span, capacity, cut) => {
      let sums = new KeyedSlotSums(capacity);
      const model = new KeyedModel(capacity);
      let slot = 0;
      steps.forEach((s, n) => {
        if (n === cut % (steps.length + 1)) sums = KeyedSlotSums.decode(JSON.parse(JSON.stringify(sums.encode())), capacity, 'sums');
        slot += s.dSlot;
        sums.expire(slot - span + 1);
        model.expire(slot - span + 1);
        sums.add(`k${s.key}`, slot, s.value);
        model.add(`k${s.key}`, slot, s.value);
        assert.equal(sums.size, model.keys.length);
        assert.deepEqual([...sums.keys()], model.keys.map((k) => k.key));
        assert.equal(sums.total, model.keys.reduce((a, k) => a + model.sumOf(k), 0));
        assert.equal(sums.max(), Math.max(0, ...model.keys.map((k) => model.sumOf(k))));
        for (const k of model.keys) assert.equal(sums.sumOf(k.key), model.sumOf(k));
      });
    }),
  );
});

void test('property: RecentKeys holds min(distinct keys in the window, capacity), the most recently seen ones', () => {
  fc.assert(
    fc.property(arbSteps(20), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 8 }), fc.nat(), (steps, span, capacity, cut) => {
      let keys = new RecentKeys(capacity);
      const history: Array<[string, number]> = [];
      let slot = 0;
      steps.forEach((s, n) => {
        if (n === cut % (steps.length + 1)) keys = RecentKeys.decode(JSON.parse(JSON.stringify(keys.encode())), capacity, 'keys');
        slot += s.dSlot;
        keys.expire(slot - span + 1);
        keys.touch(`k${s.key}`, slot);
        history.push([`k${s.key}`, slot]);
        const last = new Map<string, number>();
        history.forEach(([k], i) => last.set(k, i));
        const live = [...last].filter(([, i]) => history[i]![1] > slot - span).sort((a, b) => a[1] - b[1]);
        assert.equal(keys.size, Math.min(live.length, capacity));
        assert.deepEqual([...keys.keys()], live.slice(-capacity).map(([k]) => k));
      });
    }),
  );
});

void test('RecentKeys tells which key it dropped, by capacity or by age', () => {
  const k = new RecentKeys(2);
  assert.equal(k.touch('a', 1), undefined);
  assert.equal(k.touch('b', 2), undefined);
  assert.equal(k.touch('a', 3), undefined);
  assert.equal(k.touch('c', 4), 'b');
  const dropped: string[] = [];
  k.expire(4, (key) => dropped.push(key));
  assert.deepEqual(dropped, ['a']);
});

void test('KeyedSlotSums stays within capacity x window slots when every record is a new key (its expiry queue is rebuilt)', () => {
  const sums = new KeyedSlotSums(64);
  for (let i = 0; i < 200_000; i++) {
    const slot = Math.floor(i / 1000);
    sums.expire(slot - 59);
    sums.add(`k${i}`, slot, 1);
    assert.ok(sums.queued <= 2 * 64 * 60 + 64);
  }
  assert.equal(sums.size, 64);
  assert.ok(JSON.stringify(sums.encode()).length < 64 * 40);
});

void test('EvidenceRing keeps the newest MAX_EVIDENCE records and round-trips its delta encoding', () => {
  const ring = new EvidenceRing();
  for (let i = 1; i <= 450; i++) ring.push(1_700_000_000_000 + i * 1000, i * 3);
  assert.equal(ring.length, MAX_EVIDENCE);
  const back = EvidenceRing.decode(JSON.parse(JSON.stringify(ring.encode())), 'ring');
  assert.deepEqual(back.since(0), ring.since(0));
  assert.deepEqual(ring.since(1_700_000_000_000 + 440 * 1000), [440, 441, 442, 443, 444, 445, 446, 447, 448, 449, 450].map((i) => i * 3));
  assert.throws(() => EvidenceRing.decode([1, 2, 3], 'ring'), /not a list of records/);
});

void test('malformed stored windows are refused, never half-read', () => {
  assert.throws(() => SlotSums.decode([[5, 1, 2]], 3, 'x'), /not a slot/);
  assert.throws(() => SlotSums.decode([[5, 1, 2, 3], [4, 1, 1, 1]], 3, 'x'), /not a slot/);
  assert.throws(() => KeyedSlotSums.decode([['a', 3, 1, 2, 1]], 4, 'x'), /out of order/);
  assert.throws(() => KeyedSlotSums.decode([['a', 3, 1], ['b', 3, 1], ['c', 3, 1]], 2, 'x'), /more than 2/);
  assert.throws(() => RecentKeys.decode([['a', 'b']], 4, 'x'), /not a number/);
});
