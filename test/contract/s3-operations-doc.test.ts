/**
 * docs/s3.md's operation table against the router's: every operation the S3 endpoint
 * serves (`S3_OPERATIONS`, which the router's names are type-checked against) is a
 * `supported` row, every `supported` row is served, and every other row is `refused by
 * design` with a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3_OPERATIONS as OPERATION_TABLE } from '../../src/s3/s3-operations.js';
import { repoRoot } from '../support/index.js';

const S3_OPERATIONS = OPERATION_TABLE.map((o) => o.name);

function operationRows(): Array<{ names: string[]; verdict: string; why: string }> {
  const doc = readFileSync(join(repoRoot(), 'docs', 's3.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Operations\n'), doc.indexOf('\n## ', doc.indexOf('## Operations\n') + 5));
  const rows: Array<{ names: string[]; verdict: string; why: string }> = [];
  for (const line of section.split('\n')) {
    const m = /^\| (.+?) \| (supported|refused by design|[^|]+?) \| (.*) \|$/.exec(line);
    if (m === null || m[1] === 'operation' || m[1]!.startsWith('---')) continue;
    const names = m[1]!.replace(/\(.*?\)/g, '').split(',').map((n) => n.trim()).filter((n) => n !== '');
    rows.push({ names, verdict: m[2]!, why: m[3]!.trim() });
  }
  return rows;
}

void test('docs/s3.md lists every served S3 operation as supported, and nothing else', () => {
  const rows = operationRows();
  assert.ok(rows.length > 20, 'the operation table was found');
  const supported = rows.filter((r) => r.verdict === 'supported').flatMap((r) => r.names);
  assert.deepEqual([...supported].sort(), [...S3_OPERATIONS].sort());
});

void test('docs/s3.md gives every refused operation its reason, and refuses nothing that is served', () => {
  const rows = operationRows();
  for (const r of rows) assert.ok(r.verdict === 'supported' || r.verdict === 'refused by design', `${r.names.join(', ')}: verdict \`${r.verdict}\``);
  const refused = rows.filter((r) => r.verdict === 'refused by design');
  assert.ok(refused.length >= 10);
  for (const r of refused) {
    assert.ok(r.why.length >= 20, `${r.names.join(', ')} says why`);
    for (const n of r.names) assert.ok(!(S3_OPERATIONS as readonly string[]).includes(n), `${n} is served, not refused`);
  }
  const all = rows.flatMap((r) => r.names);
  for (const design of ['PutBucketAcl', 'PutBucketPolicy', 'PutBucketLifecycleConfiguration', 'PutBucketLogging', 'PutBucketCors']) assert.ok(all.includes(design), `${design} is in the table`);
  assert.ok(all.some((n) => n.startsWith('PostObject')), 'POST uploads are in the table');
});
