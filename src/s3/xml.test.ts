import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertArtifactName } from '../domain/ids.js';
import { child, children, parseXml, xmlDocument } from './xml.js';

test('parseXml reads what clients send and refuses DOCTYPE and entity tricks', () => {
  const doc = parseXml(
    '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&quot;abc&quot;</ETag><PartNumber>1</PartNumber></Part><Part><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>',
  );
  assert.equal(doc.name, 'CompleteMultipartUpload');
  assert.equal(children(doc, 'Part').length, 2);
  assert.equal(child(children(doc, 'Part')[0]!, 'ETag')!.text, '"abc"');
  for (const bad of ['<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Delete>&e;</Delete>', '<Delete><Object></Delete>', '<a></a><b></b>', 'text', '<?pi x?><a/>']) {
    assert.throws(() => parseXml(bad), (err: Error & { s3Code?: string }) => err.s3Code === 'MalformedXML', bad);
  }
  assert.equal(xmlDocument('R', { K: 'a<b&"c"' }), '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><K>a&lt;b&amp;&quot;c&quot;</K></R>');
});

test('artifact names take the characters S3 keys carry, never traversal', () => {
  for (const ok of ['models/a b+c=d.bin', 'mlflow/1/abc/artifacts/model/MLmodel', '_SUCCESS', '.hidden/x', 'a/(1),2;3:4!$&\'*~', 'files/md5/ab/cdef.dir']) assertArtifactName(ok);
  for (const bad of ['../x', 'a/../b', 'a\u0000b', '/etc/passwd', './x', '..', '.', 'a/./b', 'a//b', 'a/', '..\\x', 'C:\\x', '%2e%2e', 'a@1', 'tab\there', 'é', '%41']) {
    assert.throws(() => assertArtifactName(bad), { code: 'COFFER_INVALID_NAME' }, JSON.stringify(bad));
  }
});
