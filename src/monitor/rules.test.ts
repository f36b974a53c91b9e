import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigInvalidError } from '../domain/errors.js';
import { DEFAULT_RULES, actionOf, mergeRules } from './rules.js';

void test('overrides replace only the keys they name', () => {
  const r = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { internal: 5 }, action: 'alert' }, probing: { maxDenials: 3 } });
  assert.equal(r.volume.tierCapsBytes.internal, 5);
  assert.equal(r.volume.tierCapsBytes.restricted, DEFAULT_RULES.volume.tierCapsBytes.restricted);
  assert.equal(actionOf(r, 'volume'), 'alert');
  assert.equal(r.probing.maxDenials, 3);
  assert.equal(DEFAULT_RULES.volume.tierCapsBytes.internal > 5, true, 'defaults untouched');
  assert.ok(Object.isFrozen(r.volume.tierCapsBytes));
});

void test('typos, wrong types and unknown actions are refused', () => {
  assert.throws(() => mergeRules(DEFAULT_RULES, { volume: { windowMinute: 5 } }), ConfigInvalidError);
  assert.throws(() => mergeRules(DEFAULT_RULES, { volume: { windowMinutes: '5' } }), ConfigInvalidError);
  assert.throws(() => mergeRules(DEFAULT_RULES, { volume: { windowMinutes: -1 } }), ConfigInvalidError);
  assert.throws(() => mergeRules(DEFAULT_RULES, { volume: { action: 'block' } }), ConfigInvalidError);
  assert.throws(() => mergeRules(DEFAULT_RULES, []), ConfigInvalidError);
});
