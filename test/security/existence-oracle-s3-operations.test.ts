/**
 * Attack: probe for hidden buckets and objects through the S3 endpoint (penetration
 * test of issue 11, finding 10: GetObject with an invalid versionId answered 400 for a
 * hidden object and 404 for a missing one; PutObject and CreateMultipartUpload 403 vs
 * 404).
 *
 * Property, over every operation of the endpoint's table (src/s3/s3-operations.ts):
 * the same signed request by the same caller gets the same status, headers and body in
 * a world where the bucket, object or upload exists but is hidden from her, and in one
 * where it does not exist, apart from request ids and dates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3_OPERATIONS } from '../../src/s3/index.js';
import { answerOf, codeOf } from './support/compare.js';
import { s3CasesOf, type S3Case } from './support/s3-cases.js';
import { sendS3 } from './support/s3-sign.js';
import { openWorld } from './support/world.js';

test('existence oracle: every S3 operation answers a hidden bucket, object or upload exactly like a missing one', async () => {
  const hidden = await openWorld(true, null);
  const missing = await openWorld(false, hidden.ids);
  try {
    const all: S3Case[] = [];
    const uncovered: string[] = [];
    for (const op of S3_OPERATIONS) {
      const { cases, uncovered: u } = s3CasesOf(op, hidden.ids);
      all.push(...cases);
      uncovered.push(...u);
    }
    assert.deepEqual(uncovered, [], 'S3 operations this test does not know how to call');
    // creations last: a free key is created in the missing world, later cases must not see it
    all.sort((x, y) => Number(x.exception !== null) - Number(y.exception !== null));
    const differ: string[] = [];
    for (const c of all) {
      const a = answerOf(await sendS3(hidden.s3, hidden.mallory.s3, c.request), hidden.normalize);
      const b = answerOf(await sendS3(missing.s3, missing.mallory.s3, c.request), missing.normalize);
      const same = a.status === b.status && a.body === b.body && JSON.stringify(a.headers) === JSON.stringify(b.headers);
      if (c.exception === 'create-by-name') {
        // a hidden key answers as a key she sees but may not write; a free one is created
        if (a.status !== 403 || codeOf(a) !== 'AccessDenied' || b.status !== 200) differ.push(`${c.op} (${c.label}): hidden ${a.status} ${codeOf(a)}, free ${b.status} ${codeOf(b)}`);
      } else if (!same) {
        differ.push(`${c.op} (${c.label}) ${c.request.method} ${c.request.path}?${new URLSearchParams(c.request.query).toString()}\n    hidden:  ${a.status} ${a.body.slice(0, 240)} ${JSON.stringify(a.headers)}\n    missing: ${b.status} ${b.body.slice(0, 240)} ${JSON.stringify(b.headers)}`);
      }
    }
    assert.ok(all.length >= 40, `only ${all.length} S3 requests compared`);
    assert.deepEqual(differ, [], `hidden and missing answered differently on ${differ.length} S3 requests:\n${differ.join('\n')}`);
  } finally {
    await hidden.close();
    await missing.close();
  }
});
