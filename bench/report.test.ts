import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRows, ratioOf } from './bench-row.js';
import { formatNumber, formatTable } from './report.js';

test('table shows ratio, target verdict and numbered notes', () => {
  const table = formatTable([
    { name: 'download', unit: 'GiB/s', coffer: 1.2, baseline: 1.5, better: 'higher', target: '>= 1 GiB/s', pass: true, note: 'what the baseline is' },
    { name: 'p99', unit: 'ms', coffer: 12, baseline: null, better: 'lower', target: null, pass: null },
    { name: 'upload', unit: 'GiB/s', coffer: 0.4, baseline: 0.8, better: 'higher', target: '>= 0.5 GiB/s', pass: false },
  ]);
  const lines = table.split('\n');
  assert.match(lines[2]!, /^download \[1\] .*\| +1\.20 \| +1\.50 \| +0\.80x \| >= 1 GiB\/s +\| PASS$/);
  assert.match(lines[3]!, /\| +- \| +- \| - +\| info$/);
  assert.match(lines[4]!, /0\.50x .*FAIL$/);
  assert.equal(lines.at(-1), '[1] what the baseline is');
});

test('numbers, ratios and lenient external rows', () => {
  assert.equal(formatNumber(12345.6), '12,346');
  assert.equal(formatNumber(0.0123), '0.0123');
  assert.equal(ratioOf({ coffer: 1, baseline: 0 }), null);
  const rows = normalizeRows({ rows: [{ name: 'policy decisions/s', value: 10, baseline: 5, unit: 'op/s' }, { bogus: true }, { name: 'no figure' }] });
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0], { name: 'policy decisions/s', unit: 'op/s', coffer: 10, baseline: 5, better: 'higher', target: null, pass: null });
});
