/**
 * The entity store remembers on each uid the slot it resolved to (a decision reads the
 * same entities many times); that memo must never outlive a change of the store, nor
 * leak between stores.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { EntityStore } from './entity-store.js';
import { EntityUid } from './values.js';

const u = new EntityUid('U', 'a');
const g = (id: string) => new EntityUid('G', id);
const user = (name: string, parents: EntityUid[]) => ({ uid: new EntityUid('U', 'a'), attrs: new Map([['name', name]]), parents, tags: null });

void it('one uid object read from two stores sees each store', () => {
  const s1 = new EntityStore();
  const s2 = new EntityStore();
  s1.upsert(user('one', [g('x')]));
  s2.upsert(user('two', []));
  for (let i = 0; i < 3; i++) {
    assert.equal(s1.get(u)?.attrs.get('name'), 'one');
    assert.equal(s2.get(u)?.attrs.get('name'), 'two');
    assert.deepEqual(s1.ancestorList(u), ['G::"x"']);
    assert.deepEqual(s2.ancestorList(u), []);
  }
});

void it('a replaced, removed or re-added entity is seen through a uid that was read before', () => {
  const s = new EntityStore();
  s.upsert(user('first', [g('x')]));
  assert.equal(s.get(u)?.attrs.get('name'), 'first');
  assert.equal(s.isIn(u, g('x')), true);
  s.upsert(user('second', [g('y')]));
  assert.equal(s.get(u)?.attrs.get('name'), 'second');
  assert.equal(s.isIn(u, g('x')), false);
  assert.deepEqual(s.ancestorList(u), ['G::"y"']);
  s.remove(new EntityUid('U', 'a'));
  assert.equal(s.get(u), undefined);
  assert.deepEqual(s.ancestorList(u), []);
  assert.equal(s.isIn(u, g('y')), false);
  s.upsert(user('third', []));
  assert.equal(s.get(u)?.attrs.get('name'), 'third');
});

void it('a membership change further up reaches the closure of a uid read before', () => {
  const s = new EntityStore();
  s.upsert(user('a', [g('x')]));
  s.upsert({ uid: g('x'), attrs: new Map(), parents: [], tags: null });
  assert.deepEqual(s.ancestorList(u), ['G::"x"']);
  s.upsert({ uid: g('x'), attrs: new Map(), parents: [g('top')], tags: null });
  assert.deepEqual([...s.ancestorList(u)].sort(), ['G::"top"', 'G::"x"']);
  assert.equal(s.isIn(u, g('top')), true);
});
