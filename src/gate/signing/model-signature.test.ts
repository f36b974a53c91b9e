import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelSignatureInvalidError } from '../../domain/errors.js';
import { repoRoot } from '../test-support.js';
import { buildManifest, parseStatement, rootDigest } from './model-manifest.js';
import { checkModelFiles, generateSigningKey, publicKeyHint, signModel, verifyModelSignature } from './model-signature.js';

const dir = join(repoRoot(), 'test/fixtures/gate/signing');
const read = (f: string) => readFileSync(join(dir, f), 'utf8');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const invalid = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof ModelSignatureInvalidError && re.test(e.message));

test('known answer: bundles written by the reference model_signing library verify offline with the public key', () => {
  const pub = read('reference-p384.pub.pem');
  const v100 = verifyModelSignature(read('reference-v1.0.0-p384.sig.json'), pub);
  assert.equal(v100.modelName, 'signme-1');
  assert.deepEqual(v100.resources, [{ name: '.', algorithm: 'sha256', digest: sha('signme-1\n') }]);
  checkModelFiles(v100, [{ name: '.', sha256: sha('signme-1\n') }]);
  const v110 = verifyModelSignature(read('reference-v1.1.0-p384.sig.json'), pub);
  assert.equal(v110.modelName, 'v1.1.0-elliptic-key');
  assert.equal(v110.keyHint, 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
  checkModelFiles(v110, [
    { name: 'signme-2', sha256: sha('signme-2') },
    { name: 'signme-1', sha256: sha('signme-1\n') },
  ]);
  invalid(() => checkModelFiles(v110, [{ name: 'signme-1', sha256: sha('signme-1\n') }]), /missing/);
  invalid(() => checkModelFiles(v110, [{ name: 'signme-1', sha256: sha('tampered') }, { name: 'signme-2', sha256: sha('signme-2') }]), /differs/);
});

test('known answer: Coffer signatures (Ed25519, deterministic) are byte-stable', () => {
  const files = [
    { name: 'config.json', sha256: sha('{"arch":"tiny"}\n') },
    { name: 'weights/model.safetensors', sha256: sha('weights') },
  ];
  const again = signModel(buildManifest('tiny-model', files), read('coffer-ed25519.test-key.pem'));
  assert.equal(again, read('coffer-ed25519.sig.json'));
  const v = verifyModelSignature(again, read('coffer-ed25519.pub.pem'));
  assert.equal(v.resources.length, 2);
});

test('sign then verify with each key type; the bundle has the reference layout', () => {
  for (const alg of ['ecdsa-p256', 'ecdsa-p384', 'ed25519'] as const) {
    const k = generateSigningKey(alg);
    const m = buildManifest('m', [
      { name: 'b.bin', sha256: sha('b') },
      { name: 'a/x.json', sha256: sha('a') },
    ]);
    const bundle = signModel(m, k.privateKeyPem);
    const json = JSON.parse(bundle) as { mediaType: string; verificationMaterial: { publicKey: { hint: string }; tlogEntries: unknown[] } };
    assert.equal(json.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(json.verificationMaterial, { publicKey: { hint: publicKeyHint(k.publicKeyPem) }, tlogEntries: [] });
    const v = verifyModelSignature(bundle, k.publicKeyPem);
    assert.deepEqual(v.resources.map((r) => r.name), ['a/x.json', 'b.bin']);
  }
});

test('abuse: another key, a tampered payload or signature, extra signatures, bad statements', () => {
  const k = generateSigningKey();
  const other = generateSigningKey();
  const m = buildManifest('m', [{ name: 'w.bin', sha256: sha('w') }]);
  const bundle = signModel(m, k.privateKeyPem);
  invalid(() => verifyModelSignature(bundle, other.publicKeyPem), /another key/);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a bundle edited field by field
  const j: any = JSON.parse(bundle);
  // drop the hint: the signature itself must still fail with the wrong key
  const noHint = structuredClone(j);
  noHint.verificationMaterial.publicKey.hint = '';
  invalid(() => verifyModelSignature(JSON.stringify(noHint), other.publicKeyPem), /does not verify/);
  const payload = JSON.parse(Buffer.from(j.dsseEnvelope.payload as string, 'base64').toString());
  payload.predicate.resources[0].digest = sha('evil');
  const tampered = structuredClone(j);
  tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
  invalid(() => verifyModelSignature(JSON.stringify(tampered), k.publicKeyPem), /does not verify/);
  const badSig = structuredClone(j);
  badSig.dsseEnvelope.signatures[0].sig = Buffer.alloc(64, 1).toString('base64');
  invalid(() => verifyModelSignature(JSON.stringify(badSig), k.publicKeyPem), /does not verify/);
  const two = structuredClone(j);
  (two.dsseEnvelope.signatures as unknown[]).push(two.dsseEnvelope.signatures[0]);
  invalid(() => verifyModelSignature(JSON.stringify(two), k.publicKeyPem), /exactly one|not a valid sigstore bundle/);
  const typed = structuredClone(j);
  typed.dsseEnvelope.payloadType = 'text/plain';
  invalid(() => verifyModelSignature(JSON.stringify(typed), k.publicKeyPem), /in-toto/);
  invalid(() => verifyModelSignature('{not json', k.publicKeyPem), /not JSON/);
  invalid(() => verifyModelSignature('{"mediaType":"x"}', k.publicKeyPem), /bundle/);
});

test('statements: subject digest, predicate type, resource names', () => {
  const res = [{ name: 'a', algorithm: 'sha256' as const, digest: sha('a') }];
  const statement = (over: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'm', digest: { sha256: rootDigest(res) } }], predicateType: 'https://model_signing/signature/v1.0', predicate: { serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false }, resources: res }, ...over }));
  assert.equal(parseStatement(statement({})).resources.length, 1);
  invalid(() => parseStatement(statement({ subject: [{ name: 'm', digest: { sha256: sha('x') } }] })), /subject digest/);
  invalid(() => parseStatement(statement({ predicateType: 'https://model_signing/Digests/v0.1' })), /predicate type/);
  for (const name of ['../etc/passwd', '/abs', 'a//b', 'a/./b', 'C:x', 'a\\b']) {
    const r = [{ name, algorithm: 'sha256', digest: sha('a') }];
    invalid(() => parseStatement(statement({ subject: [{ name: 'm', digest: { sha256: rootDigest(r as typeof res) } }], predicate: { serialization: { method: 'files', hash_type: 'sha256' }, resources: r } })), /path|segment/);
  }
  invalid(() => buildManifest('m', [{ name: 'a', sha256: sha('a') }, { name: 'a', sha256: sha('b') }]), /twice/);
});
