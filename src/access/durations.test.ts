import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessDurationError } from '../domain/errors.js';
import { checkDuration, formatDuration, maxDurationSeconds, parseDuration } from './durations.js';
import { nextEnvironment } from './environments.js';

const limits = { maxSeconds: { reader: 7 * 86400, writer: 86400, owner: 8 * 3600 }, breakGlassMaxSeconds: 3600, shareMaxSeconds: 86400, requestTtlSeconds: 3 * 86400 };

test('a duration is accepted up to the maximum of its role, inclusive, and returned in ms', () => {
  assert.equal(checkDuration(limits, 'grant', 'reader', 7 * 86400), 7 * 86400 * 1000);
  assert.throws(() => checkDuration(limits, 'grant', 'reader', 7 * 86400 + 1), AccessDurationError);
  assert.equal(checkDuration(limits, 'grant', 'owner', 8 * 3600), 8 * 3600 * 1000);
  assert.throws(() => checkDuration(limits, 'grant', 'owner', 8 * 3600 + 1), /exceeds the maximum of 8h for role `owner`/);
  assert.throws(() => checkDuration(limits, 'grant', 'writer', 86401), /maximum of 1d/);
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => checkDuration(limits, 'grant', 'reader', bad), AccessDurationError);
});

test('break-glass is bounded by its own maximum and by the role', () => {
  assert.equal(maxDurationSeconds(limits, 'break-glass', 'reader'), 3600);
  assert.equal(maxDurationSeconds({ ...limits, breakGlassMaxSeconds: 86400 }, 'break-glass', 'owner'), 8 * 3600);
  assert.equal(maxDurationSeconds(limits, 'share', null), 86400);
});

test('durations format and parse both ways', () => {
  assert.equal(formatDuration(7200), '2h');
  assert.equal(formatDuration(5400), '1h30m');
  assert.equal(formatDuration(7 * 86400 + 1), '7d1s');
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('7d'), 604800);
  for (const bad of ['', '2', 'h', '2x', '-1h', '1.5h']) assert.equal(parseDuration(bad), null);
});

test('promotions go one environment at a time', () => {
  assert.equal(nextEnvironment('dev'), 'staging');
  assert.equal(nextEnvironment('staging'), 'prod');
  assert.equal(nextEnvironment('prod'), null);
});
