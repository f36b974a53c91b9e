import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeProfile } from './profile-summary.js';

test('self time per function and file from samples, idle kept apart', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
  const profile = {
    startTime: 0,
    endTime: 400,
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('seal', 'file:///repo/dist/src/vault/seal-object.js') },
      { id: 4, callFrame: frame('executeQuery', 'file:///repo/node_modules/kysely/dist/esm/driver.js') },
    ],
    // the time of sample i is timeDeltas[i + 1]
    samples: [3, 3, 4, 2, 3],
    timeDeltas: [0, 100_000, 100_000, 50_000, 200_000],
  };
  const s = summarizeProfile(profile);
  assert.equal(s.idleMs, 200);
  assert.equal(s.totalMs, 250);
  assert.deepEqual(s.functions.map((f) => [f.name, f.selfMs]), [
    ['seal dist/src/vault/seal-object.js:10', 200],
    ['executeQuery node_modules/kysely/dist/esm/driver.js:10', 50],
  ]);
  assert.equal(s.functions[0]!.percent, 80);
  assert.deepEqual(s.files.map((f) => f.name), ['dist/src/vault/seal-object.js', 'node_modules/kysely/dist/esm/driver.js']);
});
