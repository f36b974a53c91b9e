import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConflictError, DecryptionFailedError, KeyringError, ValidationError } from '../domain/errors.js';
import { generateDataKey } from './data-key.js';
import { EnvKeyProvider } from './env-key-provider.js';
import { FileKeyProvider } from './file-key-provider.js';
import { WRAP_SCHEME, type KeyProvider, type RootKeyRotation } from './key-provider.js';
import { deriveKeyringKey, readSealedHead, sealKeyring, sealKeyringV2 } from './keyring-codec.js';
import { Keyring, type KeyringStore } from './keyring.js';
import { localKeyId } from './local-root-key.js';
import { openKeyring } from './open-keyring.js';

/** An in-memory compare-and-set store, as MetadataStore settings behave. */
class MemoryKeyringStore implements KeyringStore {
  value: Uint8Array | null = null;
  saves = 0;
  load(): Promise<Uint8Array | null> {
    return Promise.resolve(this.value === null ? null : Uint8Array.from(this.value));
  }
  save(sealed: Uint8Array, previous: Uint8Array | null): Promise<boolean> {
    const matches = previous === null ? this.value === null : this.value !== null && Buffer.from(this.value).equals(previous);
    if (!matches) return Promise.resolve(false);
    this.value = Uint8Array.from(sealed);
    this.saves++;
    return Promise.resolve(true);
  }
}

void test('first open creates term 1; reopening with the same root key finds it', async () => {
  const store = new MemoryKeyringStore();
  const rootKey = randomBytes(32);
  const first = await Keyring.open({ rootKey, store, now: () => 1234 });
  assert.equal(first.currentTerm, 1);
  assert.deepEqual(first.terms(), [{ term: 1, createdAt: 1234, retired: false }]);
  const { wrappedKey, keyTerm } = first.wrapDataKey('ver_x', Buffer.alloc(32, 7));
  const again = await Keyring.open({ rootKey, store });
  assert.deepEqual(again.unwrapDataKey('ver_x', wrappedKey, keyTerm), Buffer.alloc(32, 7));
  assert.equal(store.saves, 1);
  // nothing of the key material is stored in the clear
  assert.equal(Buffer.from(store.value!).indexOf(Buffer.alloc(32, 7)), -1);
});

void test('a wrong root key or a corrupted keyring is a KeyringError', async () => {
  const store = new MemoryKeyringStore();
  await Keyring.open({ rootKey: randomBytes(32), store });
  await assert.rejects(Keyring.open({ rootKey: randomBytes(32), store }), KeyringError);
  const corrupt = new MemoryKeyringStore();
  const rootKey = randomBytes(32);
  await Keyring.open({ rootKey, store: corrupt });
  corrupt.value![20]! ^= 1;
  await assert.rejects(Keyring.open({ rootKey, store: corrupt }), KeyringError);
  corrupt.value = Buffer.from('CFKR nonsense');
  await assert.rejects(Keyring.open({ rootKey, store: corrupt }), KeyringError);
  await assert.rejects(Keyring.open({ rootKey: randomBytes(16), store: new MemoryKeyringStore() }), KeyringError);
});

void test('keyring model: adding, retiring, sealing, reopening and rewrapping agree with a simple model', async () => {
  type Op = { kind: 'add' } | { kind: 'retire'; pick: number } | { kind: 'wrap' } | { kind: 'rewrap'; pick: number } | { kind: 'reopen' };
  const op = fc.oneof(
    fc.constant<Op>({ kind: 'add' }),
    fc.nat().map<Op>((pick) => ({ kind: 'retire', pick })),
    fc.constant<Op>({ kind: 'wrap' }),
    fc.nat().map<Op>((pick) => ({ kind: 'rewrap', pick })),
    fc.constant<Op>({ kind: 'reopen' }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
      const store = new MemoryKeyringStore();
      const rootKey = randomBytes(32);
      let keyring = await Keyring.open({ rootKey, store });
      const model = { current: 1, retired: new Set<number>() };
      const keys: { objectId: string; dataKey: Buffer; wrappedKey: Uint8Array; keyTerm: number }[] = [];
      for (const step of ops) {
        if (step.kind === 'add') {
          model.current = await keyring.addTerm();
        } else if (step.kind === 'retire') {
          const term = 1 + (step.pick % model.current);
          if (term === model.current) {
            await assert.rejects(keyring.retireTerm(term), ValidationError);
          } else {
            await keyring.retireTerm(term);
            model.retired.add(term);
          }
        } else if (step.kind === 'wrap') {
          const objectId = `ver_${keys.length}`;
          const dataKey = generateDataKey();
          const wrapped = keyring.wrapDataKey(objectId, dataKey);
          assert.equal(wrapped.keyTerm, model.current);
          keys.push({ objectId, dataKey, ...wrapped });
        } else if (step.kind === 'rewrap' && keys.length > 0) {
          const entry = keys[step.pick % keys.length]!;
          if (model.retired.has(entry.keyTerm)) {
            assert.throws(() => keyring.rewrapDataKey(entry.wrappedKey, entry.keyTerm), DecryptionFailedError);
          } else {
            const next = keyring.rewrapDataKey(entry.wrappedKey, entry.keyTerm);
            assert.equal(next.keyTerm, model.current);
            entry.wrappedKey = next.wrappedKey;
            entry.keyTerm = next.keyTerm;
          }
        } else if (step.kind === 'reopen') {
          keyring.close();
          keyring = await Keyring.open({ rootKey, store });
        }
        // the invariants after every step
        assert.equal(keyring.currentTerm, model.current);
        assert.deepEqual(
          keyring.terms().map((t) => [t.term, t.retired]),
          Array.from({ length: model.current }, (_, i) => [i + 1, model.retired.has(i + 1)]),
        );
        for (const k of keys) {
          if (model.retired.has(k.keyTerm)) assert.throws(() => keyring.unwrapDataKey(k.objectId, k.wrappedKey, k.keyTerm), DecryptionFailedError);
          else assert.deepEqual(keyring.unwrapDataKey(k.objectId, k.wrappedKey, k.keyTerm), k.dataKey);
        }
      }
    }),
    { numRuns: 60 },
  );
});

void test('two processes changing the keyring never clobber each other (compare-and-set)', async () => {
  const store = new MemoryKeyringStore();
  const rootKey = randomBytes(32);
  const a = await Keyring.open({ rootKey, store });
  const b = await Keyring.open({ rootKey, store });
  assert.equal(await a.addTerm(), 2);
  // b still believes term 1 is current: its save fails, it reloads and adds on top
  assert.equal(await b.addTerm(), 3);
  const wrappedByA = a.wrapDataKey('ver_a', Buffer.alloc(32, 1));
  assert.equal(wrappedByA.keyTerm, 2);
  // b learns of nothing lost: term 2 (added by a) still unwraps there
  assert.deepEqual(b.unwrapDataKey('ver_a', wrappedByA.wrappedKey, 2), Buffer.alloc(32, 1));
  assert.equal(a.isUnknownTerm(3), true);
  await a.refresh();
  assert.equal(a.currentTerm, 3);
  const reopened = await Keyring.open({ rootKey, store });
  assert.deepEqual(reopened.terms().map((t) => t.term), [1, 2, 3]);
});

void test('concurrent first starts agree on one keyring', async () => {
  const store = new MemoryKeyringStore();
  const rootKey = randomBytes(32);
  const [a, b] = await Promise.all([Keyring.open({ rootKey, store }), Keyring.open({ rootKey, store })]);
  const wrapped = a.wrapDataKey('ver_z', Buffer.alloc(32, 3));
  assert.deepEqual(b.unwrapDataKey('ver_z', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 3));
});

void test('a store that never accepts a change ends in ConflictError; a failing store in a catalog error', async () => {
  const store = new MemoryKeyringStore();
  const keyring = await Keyring.open({ rootKey: randomBytes(32), store });
  store.save = () => Promise.resolve(false);
  await assert.rejects(keyring.addTerm(), ConflictError);
  assert.equal(keyring.currentTerm, 1);
  store.load = () => Promise.reject(new Error('disk on fire'));
  await assert.rejects(keyring.refresh(), KeyringError);
});

void test('retiring an unknown term is refused; retiring twice is harmless', async () => {
  const keyring = await Keyring.open({ rootKey: randomBytes(32), store: new MemoryKeyringStore() });
  await assert.rejects(keyring.retireTerm(9), ValidationError);
  await keyring.addTerm();
  await keyring.retireTerm(1);
  await keyring.retireTerm(1);
  assert.deepEqual(keyring.terms().map((t) => t.retired), [true, false]);
});

void test('openKeyring takes the root key from a KeyProvider', async () => {
  const store = new MemoryKeyringStore();
  const value = randomBytes(32).toString('base64');
  const first = await openKeyring(new EnvKeyProvider(value), store);
  const wrapped = first.wrapDataKey('ver_p', Buffer.alloc(32, 9));
  const second = await openKeyring(new EnvKeyProvider(value), store);
  assert.deepEqual(second.unwrapDataKey('ver_p', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 9));
  await assert.rejects(openKeyring(new EnvKeyProvider(randomBytes(32).toString('base64')), store), KeyringError);
});

/** A provider around another that counts unwraps and can be made to fail its rotation. */
class CountingProvider implements KeyProvider {
  unwraps = 0;
  aborted = 0;
  failRotation = false;
  constructor(readonly inner: KeyProvider) {}
  get kind() {
    return this.inner.kind;
  }
  get scheme() {
    return this.inner.scheme;
  }
  wrapKey(key: Uint8Array, context: Uint8Array) {
    return this.inner.wrapKey(key, context);
  }
  unwrapKey(wrapped: Uint8Array, context: Uint8Array) {
    this.unwraps++;
    return this.inner.unwrapKey(wrapped, context);
  }
  keyIdOf(wrapped: Uint8Array) {
    return this.inner.keyIdOf(wrapped);
  }
  async beginRotation(inUse: string | null): Promise<RootKeyRotation> {
    const rotation = await this.inner.beginRotation(inUse);
    return {
      keyId: rotation.keyId,
      wrapKey: (key, context) => (this.failRotation ? Promise.reject(new KeyringError('hsm unplugged')) : rotation.wrapKey(key, context)),
      commit: (previous) => rotation.commit(previous),
      abort: () => {
        this.aborted++;
        return rotation.abort();
      },
    };
  }
  close() {
    return this.inner.close();
  }
}

async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-keyring-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('a keyring of format 1 opens with its root key and is resealed in format 2 at once', async () => {
  const rootKey = randomBytes(32);
  const kek = randomBytes(32);
  const store = new MemoryKeyringStore();
  store.value = sealKeyring({ current: 2, terms: [{ term: 1, createdAt: 5, kek: null }, { term: 2, createdAt: 6, kek }] }, deriveKeyringKey(rootKey));
  await assert.rejects(Keyring.open({ rootKey: randomBytes(32), store }), KeyringError);
  assert.equal(readSealedHead(store.value).version, 1, 'a failed open changes nothing');
  const keyring = await Keyring.open({ rootKey, store });
  assert.deepEqual(keyring.terms(), [{ term: 1, createdAt: 5, retired: true }, { term: 2, createdAt: 6, retired: false }]);
  const head = readSealedHead(store.value);
  assert.equal(head.version, 2);
  assert.equal(head.version === 2 && head.scheme, WRAP_SCHEME.local);
  const wrapped = keyring.wrapDataKey('ver_a', Buffer.alloc(32, 1));
  const again = await Keyring.open({ rootKey, store });
  assert.deepEqual(again.unwrapDataKey('ver_a', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 1));
  // a format-1 keyring under the key of the provider moved away from: the previous one opens it
  const moved = new MemoryKeyringStore();
  moved.value = sealKeyring({ current: 1, terms: [{ term: 1, createdAt: 5, kek }] }, deriveKeyringKey(rootKey));
  await assert.rejects(Keyring.open({ rootKey: randomBytes(32), store: moved }), /rootKeyPrevious/);
  const viaPrevious = await Keyring.open({ rootKey: randomBytes(32), previous: new EnvKeyProvider(rootKey), store: moved });
  assert.equal(viaPrevious.rootKeyInfo().keyId, localKeyId(rootKey), 'resealed under the same (previous) root key');
});

void test('rotateRoot: a new root key wraps a fresh keyring key; KEKs and data keys are untouched; the old root key is destroyed', () =>
  withDir(async (dir) => {
    const path = join(dir, 'root.key');
    const store = new MemoryKeyringStore();
    const keyring = await Keyring.open({ provider: new FileKeyProvider(path), store });
    const oldRoot = await readFile(path);
    const dataKey = keyring.wrapDataKey('ver_r', Buffer.alloc(32, 4));
    const before = keyring.rootKeyInfo();
    assert.deepEqual(before, { provider: 'file', keyId: localKeyId(oldRoot) });
    const sealedBefore = Buffer.from(store.value!);

    const result = await keyring.rotateRoot();
    const newRoot = await readFile(path);
    assert.deepEqual(result, { provider: 'file', keyId: localKeyId(newRoot), previousKeyId: before.keyId, destroyedPrevious: true });
    assert.notEqual(result.keyId, result.previousKeyId);
    assert.deepEqual(keyring.rootKeyInfo(), { provider: 'file', keyId: result.keyId });
    const head = readSealedHead(store.value!);
    const headBefore = readSealedHead(sealedBefore);
    assert.ok(head.version === 2 && headBefore.version === 2 && !head.wrappedKey.equals(headBefore.wrappedKey), 'a fresh wrapped keyring key');
    // the same terms and KEKs: a data key wrapped before still unwraps, in this and a fresh instance
    assert.deepEqual(keyring.unwrapDataKey('ver_r', dataKey.wrappedKey, dataKey.keyTerm), Buffer.alloc(32, 4));
    const reopened = await Keyring.open({ provider: new FileKeyProvider(path), store });
    assert.deepEqual(reopened.unwrapDataKey('ver_r', dataKey.wrappedKey, dataKey.keyTerm), Buffer.alloc(32, 4));
    assert.equal(reopened.currentTerm, 1);
    // the old root key no longer opens the keyring, and the old sealed keyring needs the old key
    await assert.rejects(Keyring.open({ rootKey: oldRoot, store: new MemoryKeyringStore() }).then(() => Keyring.open({ rootKey: oldRoot, store })), KeyringError);
    const oldCopy = new MemoryKeyringStore();
    oldCopy.value = sealedBefore;
    await assert.rejects(Keyring.open({ provider: new FileKeyProvider(path), store: oldCopy }), KeyringError);
  }));

void test('moving to another provider: the previous one opens, rotateRoot rewraps under the new one, then the previous is not needed', async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const store = new MemoryKeyringStore();
  const first = await Keyring.open({ rootKey: oldKey, store });
  const dataKey = first.wrapDataKey('ver_m', Buffer.alloc(32, 8));
  await assert.rejects(Keyring.open({ rootKey: newKey, store }), KeyringError);
  const moving = await Keyring.open({ provider: new EnvKeyProvider(newKey), previous: new EnvKeyProvider(oldKey), store });
  const result = await moving.rotateRoot();
  assert.deepEqual(result, { provider: 'env', keyId: localKeyId(newKey), previousKeyId: localKeyId(oldKey), destroyedPrevious: false });
  const after = await Keyring.open({ rootKey: newKey, store });
  assert.deepEqual(after.unwrapDataKey('ver_m', dataKey.wrappedKey, dataKey.keyTerm), Buffer.alloc(32, 8));
  await assert.rejects(Keyring.open({ rootKey: oldKey, store }), KeyringError);
});

void test('two nodes: one rotates the root key, the other keeps serving and follows; reloads unwrap only a new keyring key', async () => {
  const rootKey = randomBytes(32);
  const store = new MemoryKeyringStore();
  const providerA = new CountingProvider(new EnvKeyProvider(rootKey));
  const providerB = new CountingProvider(new EnvKeyProvider(rootKey));
  const a = await Keyring.open({ provider: providerA, store });
  const b = await Keyring.open({ provider: providerB, store });
  assert.equal(providerB.unwraps, 1);
  await a.addTerm();
  await b.refresh();
  assert.equal(b.currentTerm, 2);
  assert.equal(providerB.unwraps, 1, 'the same wrapped keyring key is not unwrapped again');
  await a.rotateRoot();
  const wrapped = b.wrapDataKey('ver_b', Buffer.alloc(32, 2));
  assert.deepEqual(a.unwrapDataKey('ver_b', wrapped.wrappedKey, wrapped.keyTerm), Buffer.alloc(32, 2), 'b still serves with the old keyring key');
  assert.equal(await b.addTerm(), 3, 'b changes the keyring: its compare-and-set fails, it rereads under the new keyring key');
  assert.equal(providerB.unwraps, 2);
  await a.refresh();
  assert.equal(a.currentTerm, 3);
  assert.equal(providerA.unwraps, 0, 'a made the keyring key it uses: it never unwrapped');
});

void test('a rotation whose provider fails leaves the keyring as it was and discards the new root key', async () => {
  const store = new MemoryKeyringStore();
  const provider = new CountingProvider(new EnvKeyProvider(randomBytes(32)));
  const keyring = await Keyring.open({ provider, store });
  const before = Buffer.from(store.value!);
  provider.failRotation = true;
  await assert.rejects(keyring.rotateRoot(), /hsm unplugged/);
  assert.equal(provider.aborted, 1);
  assert.ok(Buffer.from(store.value!).equals(before));
  assert.equal(keyring.wrapDataKey('ver_x', Buffer.alloc(32)).keyTerm, 1);
});

void test('a keyring sealed under another kind of provider names the mismatch', async () => {
  const store = new MemoryKeyringStore();
  const kek = randomBytes(32);
  store.value = sealKeyringV2({ current: 1, terms: [{ term: 1, createdAt: 1, kek }] }, { scheme: WRAP_SCHEME.kms, wrappedKey: Buffer.from('arn-and-blob'), keyringKey: randomBytes(32) });
  await assert.rejects(Keyring.open({ rootKey: randomBytes(32), store }), (err: unknown) => err instanceof KeyringError && /KMS root key/.test(err.message));
});
