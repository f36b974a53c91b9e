import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_KEY_BYTES, artifactNameOfKey, assertArtifactName, keyOfArtifactName } from './artifact-names.js';

const KEYS = [
  'dir/', 'a//b', '/x', '//', '../x', 'a/./b', './x', 'a/..', 'café.txt', 'data/日本.bin', '100%', '%2e%2e/x', '%2F', 'a@1', 'x?y#z',
  'a[1]{2}^|\\"<>', 'models/a b+c=d.bin', '.', '..', '...', 'a\u0001b', 'tab\there', 'emoji/😀', 'mlflow/1/abc/artifacts/model/', 'C:\\x',
];

test('every S3 key maps to a valid canonical name and back', () => {
  for (const key of KEYS) {
    const name = artifactNameOfKey(key);
    assertArtifactName(name);
    assert.equal(keyOfArtifactName(name), key, JSON.stringify(key));
  }
});

test('canonical names never traverse: no empty, `.` or `..` segment, nothing outside printable ASCII, no `\\`', () => {
  for (const key of KEYS) {
    const name = artifactNameOfKey(key);
    for (const seg of name.split('/')) assert.ok(seg !== '' && seg !== '.' && seg !== '..', `${JSON.stringify(key)} -> ${name}`);
    assert.match(name, /^[\x20-\x7e]+$/);
    assert.ok(!name.includes('\\'));
  }
});

test('keys valid as names before escaping are their own canonical names (stored data reads back the same)', () => {
  for (const key of ['models/a b+c=d.bin', 'mlflow/1/abc/artifacts/model/MLmodel', '_SUCCESS', '.hidden/x', "a/(1),2;3:4!$&'*~", 'files/md5/ab/cdef.dir']) {
    assert.equal(artifactNameOfKey(key), key);
    assertArtifactName(key);
  }
});

test('distinct keys never share a name (keys that look alike after decoding or normalising)', () => {
  const keys = ['a/b', 'a%2Fb', 'a//b', 'a/b/', 'a%2fb', '..', '%2E%2E', '%2e%2e', 'café', 'cafe\u0301', 'A', '%41', 'a b', 'a+b', 'a%20b'];
  const names = keys.map(artifactNameOfKey);
  assert.equal(new Set(names).size, keys.length, names.join(' | '));
});

test('only the canonical form of a name is valid: a second spelling of one key is refused', () => {
  for (const bad of ['%41', 'caf%c3%a9', 'a%2', '%zz', '%C0%AE%C0%AE/x', '%ED%A0%80', '%00', 'a//b', 'a/', '/x', '..', '.', 'a/./b', '../x', 'é', 'a@1', 'a\\b', 'tab\there', '%FF']) {
    assert.throws(() => assertArtifactName(bad), { code: 'COFFER_INVALID_NAME' }, JSON.stringify(bad));
  }
});

test('refused keys: empty, NUL, lone surrogates, over 1024 bytes of UTF-8', () => {
  for (const bad of ['', 'a\u0000b', '\ud800x', 'x'.repeat(MAX_KEY_BYTES + 1), 'é'.repeat(513)]) {
    assert.throws(() => artifactNameOfKey(bad), { code: 'COFFER_INVALID_NAME' }, JSON.stringify(bad.slice(0, 20)));
  }
  const longest = 'é'.repeat(512);
  assert.equal(keyOfArtifactName(artifactNameOfKey(longest)), longest);
  assertArtifactName(artifactNameOfKey(longest));
});
