/**
 * Precision and recall of each scanner on the labelled corpora (test/fixtures/gate/,
 * written by generate.py). The floors are set below the measured figures with a margin
 * for a corpus regenerated with another seed; the figures are printed and recorded in
 * docs/gate.md. The corpora are ours: third-party corpora will score lower.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { precision, readLabels, recall, scoreItems, scoreModels, scoreTable, type Score } from './test-support.js';

const labels = readLabels();
const rows: [string, string, Score][] = [];

test('unsafe code: every malicious artifact is refused and no benign one', () => {
  const { score, misses } = scoreModels(labels.models);
  rows.push(['unsafe-code', `artifacts (${labels.models.length} files)`, score]);
  assert.deepEqual(misses, []);
  assert.ok(recall(score) === 1 && precision(score) === 1);
});

test('secrets: precision and recall per type', () => {
  const scores = scoreItems(labels.secretFiles, labels.secrets, 'secrets');
  for (const [t, s] of [...scores].sort()) {
    rows.push(['secrets', t, s]);
    assert.ok(recall(s) >= 0.95, `${t} recall ${recall(s)}`);
    assert.ok(precision(s) >= 0.95, `${t} precision ${precision(s)}`);
  }
});

test('personal data: precision and recall per type', () => {
  const scores = scoreItems(labels.piiFiles, labels.pii, 'pii');
  const total: Score = { tp: 0, fp: 0, fn: 0 };
  for (const [t, s] of [...scores].sort()) {
    rows.push(['pii', t, s]);
    total.tp += s.tp;
    total.fp += s.fp;
    total.fn += s.fn;
    assert.ok(recall(s) >= 0.9, `${t} recall ${recall(s)}`);
    assert.ok(precision(s) >= 0.9, `${t} precision ${precision(s)}`);
  }
  rows.push(['pii', 'all types', total]);
  process.stdout.write(`# gate corpora\n${scoreTable(rows).replace(/^/gm, '# ')}\n`);
});
