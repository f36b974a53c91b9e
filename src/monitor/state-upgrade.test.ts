import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../audit/test-support.js';
import { STATE_VERSION } from './detector-set.js';
import { MonitorEngine } from './monitor-engine.js';
import { DEFAULT_RULES, mergeRules } from './rules.js';
import { download } from './test-events.js';

const GiB = 1024 ** 3;
const fixture = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/monitor/state-v1.json'), 'utf8')) as { seq: number; states: Array<[string, string]> };

void test('a state stored by version 1 is upgraded: what was learned and the window in progress carry over, and it is saved again in the current form', () => {
  const rules = mergeRules(DEFAULT_RULES, { volume: { tierCapsBytes: { confidential: 18 * GiB } } });
  const engine = new MonitorEngine(rules);
  engine.restore(fixture.seq, fixture.states);
  assert.equal(engine.size, 1);
  const s = engine.stateOf('prn_dana')!;
  assert.ok(s.volume.bytes.n >= 24, 'hourly baselines kept');
  assert.equal(s.volume.tiers.total(2), 15 * GiB, 'the 15 GiB of confidential data of the last minutes are still in the window');
  assert.ok(s.slowAndLow.daily.n >= 1 && s.slowAndLow.seen.size === 6, 'daily baseline and datasets seen kept');
  assert.notEqual(s.newSource.nets.lastSeen('10.1.2.0/24'), undefined, 'known network kept');
  assert.ok(s.offHours.total > 0);
  assert.ok(s.downloads.since(0).includes(60) && s.downloads.length > 6, 'download evidence kept');

  const changes = engine.changes();
  assert.equal(changes.states.length, 1, 'saved again at the next save');
  assert.ok(changes.states[0]![1]!.startsWith(`{"v":${STATE_VERSION},`));

  // a fourth 5 GiB pull in the same hour crosses 18 GiB: the window carried over the upgrade
  const t = 1736247840000 + 60_000;
  const found = download(fixture.seq + 1, t, 'datasets/big3', 5 * GiB, { tier: 'confidential' }).flatMap((e) => engine.process(e));
  assert.equal(found.length, 1);
  assert.equal(found[0]!.measures.confidentialBytes, 20 * GiB);
  assert.deepEqual(found[0]!.evidence.slice(0, 3), [55, 56, 57]);
});
