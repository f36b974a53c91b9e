import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArtifactRef, parseExpiry, parseScope } from './artifact-ref.js';

test('artifact references', () => {
  assert.deepEqual(parseArtifactRef('ml/models/resnet@3'), { project: 'ml', artifact: 'models/resnet', version: '3' });
  assert.deepEqual(parseArtifactRef('ml/resnet'), { project: 'ml', artifact: 'resnet', version: undefined });
  assert.deepEqual(parseArtifactRef('ml/resnet@latest'), { project: 'ml', artifact: 'resnet', version: 'latest' });
  for (const bad of ['ml', '/x', 'ml/', 'ml/a@0', 'ml/a@x']) assert.throws(() => parseArtifactRef(bad), Error, bad);
  assert.throws(() => parseArtifactRef('ml/a@1', { version: 'forbidden' }));
});

test('grant scopes and expiry', () => {
  assert.deepEqual(parseScope('ml'), { project: 'ml' });
  assert.deepEqual(parseScope('ml/a'), { project: 'ml', artifact: 'a' });
  assert.deepEqual(parseScope('ml/a@1'), { project: 'ml', artifact: 'a', version: 1 });
  assert.throws(() => parseScope('ml/a@latest'));
  assert.equal(parseExpiry('2h', 0), new Date(7_200_000).toISOString());
  assert.equal(parseExpiry('2030-01-01T00:00:00Z'), '2030-01-01T00:00:00.000Z');
  assert.throws(() => parseExpiry('soon'));
});
