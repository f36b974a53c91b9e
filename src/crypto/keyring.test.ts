import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ConflictError, DecryptionFailedError, KeyringError, ValidationError } from '../domain/errors.js';
import { generateDataKey } from './data-key.js';
import { EnvKeyProvider } from './env-key-provider.js';
import { Keyring, type KeyringStore } from './keyring.js';
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
