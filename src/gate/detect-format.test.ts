import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFormat, detectTextKind } from './detect-format.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('content decides before the name', () => {
  assert.equal(detectFormat(b('PK\x03\x04rest'), { name: 'model.safetensors' }), 'zip');
  assert.equal(detectFormat(b('\x80\x04\x95'), { name: 'model.safetensors' }), 'pickle');
  assert.equal(detectFormat(b('\x93NUMPY\x01\x00'), {}), 'numpy');
  assert.equal(detectFormat(b('\x10\x00\x00\x00\x00\x00\x00\x00{"a":1}'), {}), 'safetensors');
  assert.equal(detectFormat(b('\x1f\x8b\x08'), { name: 'x.txt' }), 'gzip');
  assert.equal(detectFormat(b('BZh91AY'), { name: 'm.pkl.bz2' }), 'unsupported-compression');
});

test('text that happens to start like a zlib header stays text unless named as compressed pickle', () => {
  assert.equal(detectFormat(b('x^2 + y^2 = z^2\n'), { name: 'notes.txt' }), 'text');
  assert.equal(detectFormat(b('x\x9c\x01\x02'), { name: 'model.joblib' }), 'zlib');
  assert.equal(detectFormat(b('x^\x01\x02'), { name: 'model.joblib' }), 'zlib');
});

test('protocol-0 pickles are judged as pickles only when named so; binaries named like checkpoints are pickles', () => {
  assert.equal(detectFormat(b("cos\nsystem\n(S'id'\ntR."), { name: 'evil.pkl' }), 'pickle');
  assert.equal(detectFormat(b("cos\nsystem\n(S'id'\ntR."), { name: 'notes.txt' }), 'text');
  assert.equal(detectFormat(b('\x00\x01\x02\xff'), { name: 'pytorch_model.bin' }), 'pickle');
  assert.equal(detectFormat(b('\x00\x01\x02\xff'), { name: 'blob.raw' }), 'binary');
});

test('text kinds', () => {
  assert.equal(detectTextKind(b('a,b\n1,2\n'), { name: 'd.csv' }), 'csv');
  assert.equal(detectTextKind(b('{"a":1}\n{"a":2}\n'), {}), 'jsonl');
  assert.equal(detectTextKind(b('{"a":\n1}'), {}), 'json');
  assert.equal(detectTextKind(b('hello'), { name: 'n.ipynb' }), 'notebook');
  assert.equal(detectTextKind(b('hello'), {}), 'plain');
});
