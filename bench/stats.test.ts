import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gibPerSecond, median, percentile, round } from './stats.js';

test('median of odd, even and empty samples', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('percentile by nearest rank on a sorted sample', () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile(sorted, 0), 1);
  assert.equal(percentile(sorted, 50, 10), 5);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('gibPerSecond and round', () => {
  assert.equal(gibPerSecond(2 * 1024 ** 3, 2), 1);
  assert.equal(round(1.23456, 2), 1.23);
});
