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

void test('keys renamed when breadth came to be counted in datasets are refused with their new name', () => {
  assert.throws(() => mergeRules(DEFAULT_RULES, { volume: { maxDistinctArtifacts: 100 } }), /`maxDistinctArtifacts` in monitor rules.volume is now `maxDistinctDatasets`/);
  assert.throws(() => mergeRules(DEFAULT_RULES, { slowAndLow: { novelMinArtifacts: 9 } }), /is now `novelMinDatasets`/);
  assert.equal(mergeRules(DEFAULT_RULES, { volume: { maxDistinctDatasets: 100 } }).volume.maxDistinctDatasets, 100);
});
