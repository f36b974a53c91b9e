import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { KEYRING_KEY_CONTEXT, Keyring } from '../../src/crypto/index.js';
import { KmsKeyProvider, type KmsSettings } from '../../src/crypto/kms-key-provider.js';
import { KeyringError } from '../../src/domain/errors.js';
import { KmsStandIn } from '../support/kms-stand-in.js';
import { MemoryKeyringStore } from '../support/memory-keyring-store.js';

// The KMS key provider with the real @aws-sdk/client-kms against a local stand-in of the
// KMS API (test/support/kms-stand-in.ts: AWS JSON 1.1, SigV4 checked): no KMS is reachable here.

void describe('KMS key provider (AWS SDK against a local KMS stand-in)', { timeout: 60_000 }, () => {
  let kms: KmsStandIn;
  const providers: KmsKeyProvider[] = [];
  const provider = (overrides: Partial<KmsSettings> = {}) => {
    const p = new KmsKeyProvider({ keyId: 'alias/coffer', region: kms.region, endpoint: kms.endpoint, credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: kms.secretAccessKey }, ...overrides });
    providers.push(p);
    return p;
  };
  before(async () => {
    kms = await KmsStandIn.start();
  });
  after(async () => {
    for (const p of providers) await p.close();
    await kms?.close();
  });

  void test('the keyring key goes through KMS Encrypt and Decrypt; the keyring reopens after a restart; nothing but the ciphertext is stored', async () => {
    const { arn } = kms.createKey('coffer');
    const store = new MemoryKeyringStore();
    const keyring = await Keyring.open({ provider: provider(), store });
    assert.deepEqual(keyring.rootKeyInfo(), { provider: 'kms', keyId: arn });
    assert.equal(kms.calls.get('Encrypt'), 1);
    const wrapped = keyring.wrapDataKey('ver_kms', Buffer.alloc(32, 3));
    const reopened = await Keyring.open({ provider: provider(), store });
    assert.equal(kms.calls.get('Decrypt'), 1);
    assert.deepEqual(reopened.unwrapDataKey('ver_kms', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 3));
    // changes to the keyring reuse the keyring key: no KMS call per change or reload
    await keyring.addTerm();
    await reopened.refresh();
    assert.equal(reopened.currentTerm, 2);
    assert.equal(kms.calls.get('Encrypt'), 1);
    assert.equal(kms.calls.get('Decrypt'), 1);
  });

  void test('rotate-root moves the keyring to the key now configured; the old key is no longer needed', async () => {
    const first = kms.createKey();
    const second = kms.createKey();
    const store = new MemoryKeyringStore();
    const a = await Keyring.open({ provider: provider({ keyId: first.keyId }), store });
    const wrapped = a.wrapDataKey('ver_r', Buffer.alloc(32, 4));
    // configured for the second key: the keyring still opens (its blob names the first key)
    const b = await Keyring.open({ provider: provider({ keyId: second.arn }), store });
    const result = await b.rotateRoot();
    assert.deepEqual(result, { provider: 'kms', keyId: second.arn, previousKeyId: first.arn, destroyedPrevious: false });
    assert.equal(b.rootKeyInfo().keyId, second.arn);
    kms.setEnabled(first.keyId, false);
    const c = await Keyring.open({ provider: provider({ keyId: second.arn }), store });
    assert.deepEqual(c.unwrapDataKey('ver_r', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 4));
  });

  void test('a disabled or unknown key, wrong credentials, an unreachable KMS: KeyringError, no secret in it', async () => {
    const { keyId } = kms.createKey();
    const store = new MemoryKeyringStore();
    await Keyring.open({ provider: provider({ keyId }), store });
    kms.setEnabled(keyId, false);
    await assert.rejects(Keyring.open({ provider: provider({ keyId }), store }), (err: unknown) => err instanceof KeyringError && /DisabledException/.test(err.message));
    kms.setEnabled(keyId, true);
    await assert.rejects(Keyring.open({ provider: provider({ keyId: 'alias/nope' }), store: new MemoryKeyringStore() }), /NotFoundException/);
    const secret = randomBytes(20).toString('base64');
    const err = await Keyring.open({ provider: provider({ keyId, credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: secret } }), store }).catch((e: unknown) => e);
    assert.ok(err instanceof KeyringError && /InvalidSignatureException/.test(err.message), String(err));
    assert.ok(!`${err.message} ${err.detail ?? ''} ${err.stack ?? ''}`.includes(secret));
    await assert.rejects(Keyring.open({ provider: provider({ keyId, credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: secret } }), store }), /UnrecognizedClientException/);
    await assert.rejects(Keyring.open({ provider: provider({ keyId, endpoint: 'http://127.0.0.1:1' }), store }), KeyringError);
  });

  void test('an altered blob, another key\'s blob or another context never unwraps', async () => {
    const { keyId } = kms.createKey();
    const other = kms.createKey();
    const p = provider({ keyId });
    const wrapped = await p.wrapKey(Buffer.alloc(32, 5), KEYRING_KEY_CONTEXT);
    assert.deepEqual(await p.unwrapKey(wrapped, KEYRING_KEY_CONTEXT), Buffer.alloc(32, 5));
    await assert.rejects(p.unwrapKey(wrapped, Buffer.from('another context')), /wrong root key or corrupted keyring/);
    const altered = Buffer.from(wrapped);
    altered[altered.length - 3]! ^= 1;
    await assert.rejects(p.unwrapKey(altered, KEYRING_KEY_CONTEXT), /wrong root key or corrupted keyring/);
    // a blob relabelled with another key's ARN: KMS refuses (the ciphertext names its own key)
    const relabelled = Buffer.concat([Buffer.of(1), Buffer.from([0, Buffer.byteLength(other.arn)]), Buffer.from(other.arn), wrapped.subarray(3 + wrapped.readUInt16BE(1))]);
    await assert.rejects(p.unwrapKey(relabelled, KEYRING_KEY_CONTEXT), KeyringError);
  });
});
