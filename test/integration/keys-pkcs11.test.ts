import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pkcs11js from 'pkcs11js';
import { KEYRING_KEY_CONTEXT, Keyring } from '../../src/crypto/index.js';
import { Pkcs11KeyProvider, type Pkcs11Settings } from '../../src/crypto/pkcs11-key-provider.js';
import { KeyringError } from '../../src/domain/errors.js';
import { repoRoot } from '../support/index.js';
import { MemoryKeyringStore } from '../support/memory-keyring-store.js';
import { createSoftHsmToken, softHsmSkip, type SoftHsmToken } from '../support/softhsm.js';

// The PKCS#11 key provider against Debian's SoftHSM2 (a real PKCS#11 module; CI installs it).

/** Looks into the token from outside the provider: the AES key objects, by label. */
function tokenKeys(token: SoftHsmToken): { label: string; id: string; sensitive: boolean; extractable: boolean; valueReadable: boolean }[] {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel)!;
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    lib.C_Login(session, pkcs11js.CKU_USER, token.pin);
    lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }]);
    const handles = lib.C_FindObjects(session, 100);
    lib.C_FindObjectsFinal(session);
    return handles.map((h) => {
      const [label, id, sensitive, extractable] = lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_LABEL }, { type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }]);
      let valueReadable = true;
      try {
        lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_VALUE }]);
      } catch {
        valueReadable = false;
      }
      return { label: (label!.value).toString(), id: (id!.value).toString('hex'), sensitive: (sensitive!.value)[0] === 1, extractable: (extractable!.value)[0] === 1, valueReadable };
    });
  } finally {
    lib.C_Finalize();
    lib.close();
  }
}

void describe('PKCS#11 key provider on SoftHSM2', { skip: softHsmSkip(), timeout: 120_000 }, () => {
  let token: SoftHsmToken;
  let settings: Pkcs11Settings;
  before(async () => {
    token = await createSoftHsmToken();
    settings = { module: token.module, tokenLabel: token.tokenLabel, pin: token.pin, pinFile: null, keyLabel: 'coffer-root-key' };
  });
  after(async () => {
    await token?.remove();
  });

  void test('the root key is made in the token, sensitive and never extractable; the keyring opens with it after a restart', async () => {
    const store = new MemoryKeyringStore();
    const provider = await Pkcs11KeyProvider.open(settings);
    const keyring = await Keyring.open({ provider, store });
    const wrapped = keyring.wrapDataKey('ver_hsm', Buffer.alloc(32, 6));
    const info = keyring.rootKeyInfo();
    keyring.close();
    await provider.close();

    const keys = tokenKeys(token).filter((k) => k.label === 'coffer-root-key');
    assert.equal(keys.length, 1);
    assert.deepEqual(keys[0], { label: 'coffer-root-key', id: info.keyId, sensitive: true, extractable: false, valueReadable: false });

    const again = await Pkcs11KeyProvider.open(settings);
    try {
      const reopened = await Keyring.open({ provider: again, store });
      assert.deepEqual(reopened.unwrapDataKey('ver_hsm', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 6));
      // the stored keyring holds the wrapped keyring key, not the keyring key itself
      assert.equal(Buffer.from(store.value!).indexOf(Buffer.alloc(32, 6)), -1);
    } finally {
      await again.close();
    }
    assert.equal(tokenKeys(token).filter((k) => k.label === 'coffer-root-key').length, 1, 'no second key at the second start');
  });

  void test('rotate-root in the HSM: a new key object, the previous one destroyed, data keys untouched', async () => {
    const store = new MemoryKeyringStore();
    const rotating = { ...settings, keyLabel: 'rotating' };
    let provider = await Pkcs11KeyProvider.open(rotating);
    const keyring = await Keyring.open({ provider, store });
    const wrapped = keyring.wrapDataKey('ver_rot', Buffer.alloc(32, 7));
    const before = keyring.rootKeyInfo().keyId;
    const oldSealed = Buffer.from(store.value!);
    const result = await keyring.rotateRoot();
    keyring.close();
    // (the module is one per process: the look from outside waits until the provider closed it)
    await provider.close();
    assert.equal(result.provider, 'pkcs11');
    assert.equal(result.previousKeyId, before);
    assert.equal(result.destroyedPrevious, true);
    assert.notEqual(result.keyId, before);
    const keys = tokenKeys(token).filter((k) => k.label.startsWith('rotating'));
    assert.deepEqual(keys.map((k) => [k.label, k.id]), [['rotating', result.keyId]]);
    provider = await Pkcs11KeyProvider.open(rotating);
    try {
      const reopened = await Keyring.open({ provider, store });
      assert.deepEqual(reopened.unwrapDataKey('ver_rot', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 7));
      // a copy of the keyring from before (a backup) needs the destroyed key: it no longer opens
      const backup = new MemoryKeyringStore();
      backup.value = oldSealed;
      await assert.rejects(Keyring.open({ provider, store: backup }), (err: unknown) => err instanceof KeyringError && /not in the token/.test(err.message));
    } finally {
      await provider.close();
    }
  });

  void test('an altered wrapped key or another context never unwraps', async () => {
    const provider = await Pkcs11KeyProvider.open({ ...settings, keyLabel: 'tamper' });
    try {
      const wrapped = await provider.wrapKey(Buffer.alloc(32, 1), KEYRING_KEY_CONTEXT);
      assert.deepEqual(await provider.unwrapKey(wrapped, KEYRING_KEY_CONTEXT), Buffer.alloc(32, 1));
      await assert.rejects(provider.unwrapKey(wrapped, Buffer.from('another context')), KeyringError);
      for (const at of [0, 1, 5, 2 + 16 + 3, wrapped.length - 1]) {
        const altered = Buffer.from(wrapped);
        altered[at]! ^= 0x01;
        await assert.rejects(provider.unwrapKey(altered, KEYRING_KEY_CONTEXT), KeyringError, `byte ${at}`);
      }
    } finally {
      await provider.close();
    }
  });

  void test('a wrong PIN, an unknown token or module: KeyringError naming none of the PIN', async () => {
    const wrongPin = `wrong-${randomBytes(4).toString('hex')}`;
    const err = await Pkcs11KeyProvider.open({ ...settings, pin: wrongPin }).catch((e: unknown) => e);
    assert.ok(err instanceof KeyringError, String(err));
    assert.ok(!`${err.message} ${err.detail ?? ''}`.includes(wrongPin));
    assert.match(err.detail ?? '', /CKR_PIN_INCORRECT/);
    await assert.rejects(Pkcs11KeyProvider.open({ ...settings, tokenLabel: 'no-such-token' }), /token `no-such-token` not found/);
    await assert.rejects(Pkcs11KeyProvider.open({ ...settings, module: '/nonexistent/libpkcs11.so' }), KeyringError);
    await assert.rejects(Pkcs11KeyProvider.open({ ...settings, pin: null, pinFile: '/nonexistent/pin' }), /PIN file/);
  });

  void test('known-answer: a key of known value in the token wraps to the committed vector bytes', async () => {
    const v = (JSON.parse(readFileSync(`${repoRoot()}/test/fixtures/crypto/keyring-v2-vectors.json`, 'utf8')) as { keyringKeyHex: string; pkcs11Wrap: { aesKeyHex: string; ckaIdHex: string; nonceHex: string; wrappedHex: string } });
    // import the vector's AES key (only a test does this: Coffer's own keys are generated inside)
    const lib = new pkcs11js.PKCS11();
    lib.load(token.module);
    lib.C_Initialize();
    try {
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel)!;
      const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      lib.C_Login(session, pkcs11js.CKU_USER, token.pin);
      lib.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_LABEL, value: 'vector' },
        { type: pkcs11js.CKA_ID, value: Buffer.from(v.pkcs11Wrap.ckaIdHex, 'hex') },
        { type: pkcs11js.CKA_VALUE, value: Buffer.from(v.pkcs11Wrap.aesKeyHex, 'hex') },
      ]);
    } finally {
      lib.C_Finalize();
      lib.close();
    }
    const provider = await Pkcs11KeyProvider.open({ ...settings, keyLabel: 'vector' });
    try {
      const wrapped = provider.wrapUnder(provider.currentKey(), Buffer.from(v.keyringKeyHex, 'hex'), KEYRING_KEY_CONTEXT, Buffer.from(v.pkcs11Wrap.nonceHex, 'hex'));
      assert.equal(wrapped.toString('hex'), v.pkcs11Wrap.wrappedHex);
      assert.deepEqual(await provider.unwrapKey(Buffer.from(v.pkcs11Wrap.wrappedHex, 'hex'), KEYRING_KEY_CONTEXT), Buffer.from(v.keyringKeyHex, 'hex'));
    } finally {
      await provider.close();
    }
  });
});
