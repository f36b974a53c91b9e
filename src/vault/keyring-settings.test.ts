import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../crypto/index.js';
import { KeyringError } from '../domain/errors.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import { settingsKeyringStore } from './keyring-settings.js';

void test('the keyring persists in metadata settings with compare-and-set', async () => {
  const meta = openSqliteStore(':memory:');
  try {
    await meta.migrate();
    const rootKey = randomBytes(32);
    const a = await Keyring.open({ rootKey, store: settingsKeyringStore(meta) });
    const b = await Keyring.open({ rootKey, store: settingsKeyringStore(meta) });
    assert.equal(await a.addTerm(), 2);
    // b's save is refused by the database (stale previous value), so b reloads and adds term 3
    assert.equal(await b.addTerm(), 3);
    const reopened = await Keyring.open({ rootKey, store: settingsKeyringStore(meta) });
    assert.deepEqual(reopened.terms().map((t) => t.term), [1, 2, 3]);
    assert.ok((await meta.getSetting('keyring')) !== null);
    await assert.rejects(Keyring.open({ rootKey: randomBytes(32), store: settingsKeyringStore(meta) }), KeyringError);
  } finally {
    await meta.close();
  }
});
