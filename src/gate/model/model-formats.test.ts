import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanBytes } from '../artifact-scan.js';
import { FindingCollector, ScopedFindings } from '../core/findings.js';
import { judgeKerasConfig } from './keras-config.js';
import { dtypeHasObject } from './npy-scanner.js';
import { externalPathEscape } from './onnx-scanner.js';
import { parsePythonLiteral } from './python-literal.js';

function safetensors(header: unknown, data: Buffer, rawHeader?: Buffer): Buffer {
  const h = rawHeader ?? Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

test('safetensors: a valid file is clean; each structural fault is named', () => {
  const ok = safetensors({ __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'F4', shape: [4], data_offsets: [16, 18] } }, Buffer.alloc(18));
  assert.equal(scanBytes(ok).unsafeCode.outcome, 'clean');
  const cases: [string, Buffer][] = [
    ['overlap', safetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } }, Buffer.alloc(8))],
    ['gap', safetensors({ a: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } }, Buffer.alloc(8))],
    ['trailing', safetensors({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, Buffer.alloc(5))],
    ['size', safetensors({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4))],
    ['dtype', safetensors({ a: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1))],
    ['metadata', safetensors({ __metadata__: { n: 1 } }, Buffer.alloc(0))],
    ['shape', safetensors({ a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }, Buffer.alloc(0))],
    ['not json', safetensors(null, Buffer.alloc(0), Buffer.from('{"a": '))],
    ['not utf8', safetensors(null, Buffer.alloc(0), Buffer.from([0x7b, 0xff, 0x7d]))],
  ];
  for (const [name, bytes] of cases) assert.equal(scanBytes(bytes, { name: 'm.safetensors' }).unsafeCode.counts['safetensors-invalid']! >= 1, true, name);
});

test('safetensors: a 2 GB declared header is refused before anything is allocated', () => {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(2n * 1024n ** 3n);
  const before = process.memoryUsage().rss;
  const r = scanBytes(Buffer.concat([len, Buffer.from('{"a":')]), { name: 'x.safetensors' });
  assert.equal(r.unsafeCode.counts['safetensors-invalid'], 1);
  assert.match(r.unsafeCode.findings[0]!.detail!, /beyond the .*limit/);
  assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
  len.writeBigUInt64LE(0xffffffffffffffffn);
  assert.equal(scanBytes(Buffer.concat([len, Buffer.from('{}')]), { name: 'x.safetensors' }).unsafeCode.counts['safetensors-invalid'], 1);
});

test('onnx external data: paths leaving the model folder', () => {
  for (const ok of ['weights.bin', 'sub/w.bin', './w.bin', 'a/../w.bin']) assert.equal(externalPathEscape(ok), null, ok);
  for (const bad of ['../w.bin', 'a/../../w.bin', '/etc/passwd', 'C:\\x', '\\\\server\\share', '~/x', 'a\0b', 'sub\\..\\..\\x']) assert.notEqual(externalPathEscape(bad), null, bad);
});

test('keras configs: Lambda layers and modules outside keras are findings, at any depth', () => {
  const c = new FindingCollector('unsafe-code');
  let deep: unknown = { module: 'keras.layers', class_name: 'Lambda', config: {} };
  for (let i = 0; i < 50_000; i++) deep = { layers: [deep] };
  judgeKerasConfig(deep, new ScopedFindings(c, undefined), {});
  judgeKerasConfig({ module: 'keras.src.layers', class_name: 'Dense', config: { activation: { module: 'os', class_name: 'function', config: 'system' } } }, new ScopedFindings(c, undefined), {});
  assert.deepEqual(c.verdict().counts, { 'keras-custom-module': 1, 'keras-lambda-layer': 1 });
});

test('npy headers: the python literal subset and object dtypes', () => {
  const h = parsePythonLiteral("{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (3,), }");
  assert.ok(h instanceof Map);
  assert.equal(dtypeHasObject(h.get('descr')!), true);
  assert.equal(dtypeHasObject('<f8'), false);
  assert.throws(() => parsePythonLiteral('{' + '('.repeat(100) + ')'.repeat(100) + '}'));
  assert.throws(() => parsePythonLiteral("__import__('os')"));
});

test('hdf5: a model_config that cannot be read as JSON is unscannable, not clean', () => {
  const h5 = Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100), Buffer.from('model_config'), Buffer.alloc(50, 0x11)]);
  assert.equal(scanBytes(h5, { name: 'm.h5' }).unsafeCode.outcome, 'unscannable');
});
