import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyringError } from '../domain/errors.js';
import { EnvKeyProvider } from './env-key-provider.js';
import { FileKeyProvider } from './file-key-provider.js';
import { localKeyId } from './local-root-key.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-keys-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('the file provider creates a 0600 key at first start and returns the same key afterwards', () =>
  withDir(async (dir) => {
    const path = join(dir, 'nested', 'root.key');
    const key = await new FileKeyProvider(path).getRootKey();
    assert.equal(key.length, 32);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readFile(path), key);
    assert.deepEqual(await new FileKeyProvider(path).getRootKey(), key);
  }));

void test('concurrent first starts end with one key', () =>
  withDir(async (dir) => {
    const path = join(dir, 'root.key');
    const keys = await Promise.all(Array.from({ length: 6 }, () => new FileKeyProvider(path).getRootKey()));
    for (const k of keys) assert.deepEqual(k, keys[0]);
  }));

void test('a key file readable by group or others is refused with a clear error', () =>
  withDir(async (dir) => {
    const path = join(dir, 'root.key');
    await new FileKeyProvider(path).getRootKey();
    for (const mode of [0o640, 0o604, 0o644]) {
      await chmod(path, mode);
      await assert.rejects(new FileKeyProvider(path).getRootKey(), (err: unknown) => err instanceof KeyringError && /chmod 600/.test(err.message));
    }
  }));

void test('a key file of the wrong size, a directory or a symlink is refused', () =>
  withDir(async (dir) => {
    const short = join(dir, 'short.key');
    await writeFile(short, randomBytes(31), { mode: 0o600 });
    await assert.rejects(new FileKeyProvider(short).getRootKey(), KeyringError);
    await assert.rejects(new FileKeyProvider(dir).getRootKey(), KeyringError);
    const real = join(dir, 'real.key');
    await writeFile(real, randomBytes(32), { mode: 0o600 });
    const link = join(dir, 'link.key');
    await symlink(real, link);
    await assert.rejects(new FileKeyProvider(link).getRootKey(), KeyringError);
  }));

void test('the env provider accepts exactly 32 bytes of base64 and never echoes the value', async () => {
  const key = randomBytes(32);
  const context = Buffer.from('test context');
  const wrapped = await new EnvKeyProvider(key.toString('base64')).wrapKey(Buffer.alloc(32, 5), context);
  assert.deepEqual(await new EnvKeyProvider(` ${key.toString('base64')}\n`).unwrapKey(wrapped, context), Buffer.alloc(32, 5));
  assert.equal(new EnvKeyProvider(key).keyIdOf(wrapped), localKeyId(key));
  for (const bad of [undefined, '', randomBytes(16).toString('base64'), 'not base64 at all!', `${key.toString('base64')}AA==`]) {
    await assert.rejects(new EnvKeyProvider(bad, 'COFFER_ROOT_KEY').wrapKey(Buffer.alloc(32), context), (err: unknown) => {
      assert.ok(err instanceof KeyringError);
      assert.match(err.message, /COFFER_ROOT_KEY/);
      if (bad) assert.ok(!err.message.includes(bad.trim()));
      return true;
    });
  }
});

void test('local wrapping: another key, another context or one altered byte never unwraps', async () => {
  const key = randomBytes(32);
  const context = Buffer.from('ctx');
  const provider = new EnvKeyProvider(key);
  const wrapped = await provider.wrapKey(Buffer.alloc(32, 9), context);
  await assert.rejects(new EnvKeyProvider(randomBytes(32)).unwrapKey(wrapped, context), KeyringError);
  await assert.rejects(provider.unwrapKey(wrapped, Buffer.from('other')), KeyringError);
  for (let i = 0; i < wrapped.length; i++) {
    const altered = Buffer.from(wrapped);
    altered[i]! ^= 0x01;
    await assert.rejects(provider.unwrapKey(altered, context), KeyringError, `byte ${i}`);
  }
  assert.equal(provider.keyIdOf(Buffer.from('nonsense')), null);
});

void test('a key file and the same bytes given as rootKey wrap alike (moving from one to the other needs no rewrap)', () =>
  withDir(async (dir) => {
    const path = join(dir, 'root.key');
    const file = new FileKeyProvider(path);
    const context = Buffer.from('ctx');
    const wrapped = await file.wrapKey(Buffer.alloc(32, 3), context);
    const env = new EnvKeyProvider(await readFile(path));
    assert.deepEqual(await env.unwrapKey(wrapped, context), Buffer.alloc(32, 3));
    assert.deepEqual(await file.unwrapKey(await env.wrapKey(Buffer.alloc(32, 4), context), context), Buffer.alloc(32, 4));
  }));

void test('file rotation: the new key waits in root.key.next, replaces root.key on commit, and is gone on abort', () =>
  withDir(async (dir) => {
    const path = join(dir, 'root.key');
    const file = new FileKeyProvider(path);
    const context = Buffer.from('ctx');
    const old = await file.wrapKey(Buffer.alloc(32, 1), context);
    const oldBytes = await readFile(path);

    const aborted = await file.beginRotation(file.keyIdOf(old));
    assert.equal((await stat(`${path}.next`)).mode & 0o777, 0o600);
    await aborted.abort();
    await assert.rejects(stat(`${path}.next`), { code: 'ENOENT' });
    assert.deepEqual(await readFile(path), oldBytes);

    const rotation = await file.beginRotation(file.keyIdOf(old));
    const fresh = await rotation.wrapKey(Buffer.alloc(32, 2), context);
    assert.equal(file.keyIdOf(fresh), rotation.keyId);
    // before the commit (a crash here): both keys open
    assert.deepEqual(await file.unwrapKey(old, context), Buffer.alloc(32, 1));
    assert.deepEqual(await file.unwrapKey(fresh, context), Buffer.alloc(32, 2));
    assert.deepEqual(await rotation.commit(file.keyIdOf(old)), { destroyedPrevious: true });
    assert.notDeepEqual(await readFile(path), oldBytes);
    await assert.rejects(stat(`${path}.next`), { code: 'ENOENT' });
    assert.deepEqual(await file.unwrapKey(fresh, context), Buffer.alloc(32, 2));
    await assert.rejects(file.unwrapKey(old, context), KeyringError, 'the old root key is gone');
  }));

void test('file rotation after a crash between save and commit: the next rotation finishes it, a stale one is dropped', () =>
  withDir(async (dir) => {
    const path = join(dir, 'root.key');
    const file = new FileKeyProvider(path);
    const context = Buffer.from('ctx');
    await file.wrapKey(Buffer.alloc(32, 1), context);
    // crash after the keyring was saved under the pending key: it is in use
    const crashed = await file.beginRotation(null);
    const inUse = await crashed.wrapKey(Buffer.alloc(32, 2), context);
    const second = await file.beginRotation(file.keyIdOf(inUse));
    assert.deepEqual(await file.unwrapKey(inUse, context), Buffer.alloc(32, 2), 'the pending key was promoted, not lost');
    await second.abort();
    // a rotation that crashed before its save: its pending key is not in use and is dropped
    const stale = await file.beginRotation(file.keyIdOf(inUse));
    const never = await stale.wrapKey(Buffer.alloc(32, 3), context);
    const third = await file.beginRotation(file.keyIdOf(inUse));
    await assert.rejects(file.unwrapKey(never, context), KeyringError);
    assert.deepEqual(await file.unwrapKey(inUse, context), Buffer.alloc(32, 2));
    await third.abort();
  }));
