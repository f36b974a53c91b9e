import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyringError } from '../domain/errors.js';
import { EnvKeyProvider } from './env-key-provider.js';
import { FileKeyProvider } from './file-key-provider.js';

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
  assert.deepEqual(await new EnvKeyProvider(key.toString('base64')).getRootKey(), key);
  assert.deepEqual(await new EnvKeyProvider(` ${key.toString('base64')}\n`).getRootKey(), key);
  for (const bad of [undefined, '', randomBytes(16).toString('base64'), 'not base64 at all!', `${key.toString('base64')}AA==`]) {
    await assert.rejects(new EnvKeyProvider(bad, 'COFFER_ROOT_KEY').getRootKey(), (err: unknown) => {
      assert.ok(err instanceof KeyringError);
      assert.match(err.message, /COFFER_ROOT_KEY/);
      if (bad) assert.ok(!err.message.includes(bad.trim()));
      return true;
    });
  }
});
