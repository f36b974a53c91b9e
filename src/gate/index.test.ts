import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ModelSignatureInvalidError } from '../domain/errors.js';
import { buildManifest, checkModelFiles, gateAttributes, generateSigningKey, hashModelFiles, scanArtifact, signModel, verifyModelSignature } from './index.js';

test('gateAttributes: flags per check, unscannable counts as failing', async () => {
  const clean = await scanArtifact(Readable.from([Buffer.from('hello world\n')]), { name: 'a.txt' });
  assert.deepEqual(gateAttributes(clean), { unsafeCode: false, secrets: false, pii: false, unscannable: false, secretCount: 0, piiCount: 0 });
  const bad = await scanArtifact(Readable.from([Buffer.from('mail me: a.b@example.com\npassword = "Zq8#xL0p!mW2"\n')]), { name: 'a.txt' });
  assert.deepEqual(gateAttributes(bad), { unsafeCode: false, secrets: true, pii: true, unscannable: false, secretCount: 1, piiCount: 1 });
  const bz2 = await scanArtifact(Readable.from([Buffer.from('BZh91AY&SY')]), { name: 'm.pkl.bz2' });
  assert.equal(gateAttributes(bz2).unsafeCode, true);
  assert.equal(gateAttributes(bz2).unscannable, true);
});

test('offline verify of a model folder: hash, sign, verify, then catch a changed, added or linked file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-gate-'));
  try {
    await mkdir(join(dir, 'weights'));
    await writeFile(join(dir, 'config.json'), '{"a":1}');
    await writeFile(join(dir, 'weights', 'w.safetensors'), Buffer.alloc(100, 3));
    const k = generateSigningKey();
    const files = await hashModelFiles(dir);
    assert.deepEqual(files.map((f) => f.name), ['config.json', 'weights/w.safetensors']);
    const sig = signModel(buildManifest('m', files), k.privateKeyPem);
    await writeFile(join(dir, 'model.sig'), sig);
    const verified = verifyModelSignature(sig, k.publicKeyPem);
    checkModelFiles(verified, await hashModelFiles(dir));
    await writeFile(join(dir, 'weights', 'w.safetensors'), Buffer.alloc(100, 4));
    assert.throws(() => checkModelFiles(verified, files.concat([{ name: 'extra', sha256: files[0]!.sha256 }])), ModelSignatureInvalidError);
    await assert.rejects(async () => checkModelFiles(verified, await hashModelFiles(dir)), ModelSignatureInvalidError);
    await symlink('/etc/hostname', join(dir, 'link'));
    await assert.rejects(() => hashModelFiles(dir), ModelSignatureInvalidError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
