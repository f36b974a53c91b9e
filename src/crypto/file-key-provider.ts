import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyringError } from '../domain/errors.js';
import { ROOT_KEY_LENGTH, WRAP_SCHEME, type KeyProvider, type RootKeyRotation } from './key-provider.js';
import { deriveKeyringKey } from './keyring-codec.js';
import { localKeyId, localKeyIdOf, unwrapWithLocalKey, wrapWithLocalKey } from './local-root-key.js';

/**
 * The default KeyProvider: a root key of 32 raw bytes in a local file, generated at
 * first start with mode 0600. A key file that group or others can access is refused.
 * It wraps in the `local` scheme (as the env provider, with the same key, does).
 *
 * Rotation writes the new key to `<path>.next`, and once the keyring is saved under it,
 * renames it over `<path>`: the old key is gone. A crash in between leaves both files;
 * the keyring opens with whichever it names, and the next rotation finishes the rename.
 */
export class FileKeyProvider implements KeyProvider {
  readonly kind = 'file';
  readonly scheme = WRAP_SCHEME.local;
  private readonly nextPath: string;

  constructor(private readonly path: string) {
    this.nextPath = `${path}.next`;
  }

  async wrapKey(key: Uint8Array, context: Uint8Array): Promise<Buffer> {
    const root = await this.getRootKey();
    try {
      return wrapWithLocalKey(root, key, context);
    } finally {
      root.fill(0);
    }
  }

  async unwrapKey(wrapped: Uint8Array, context: Uint8Array): Promise<Buffer> {
    const keys = [await this.read(this.path), await this.read(this.nextPath)].filter((k): k is Buffer => k !== null);
    try {
      if (keys.length === 0) throw new KeyringError(`root key file \`${this.path}\` is missing`);
      return unwrapWithLocalKey(keys, wrapped, context);
    } finally {
      for (const k of keys) k.fill(0);
    }
  }

  keyIdOf(wrapped: Uint8Array): string | null {
    return localKeyIdOf(wrapped);
  }

  async legacySealingKey(): Promise<Buffer> {
    const root = await this.getRootKey();
    try {
      return deriveKeyringKey(root);
    } finally {
      root.fill(0);
    }
  }

  async beginRotation(inUseKeyId: string | null): Promise<RootKeyRotation> {
    const pending = await this.read(this.nextPath);
    if (pending !== null) {
      const pendingId = localKeyId(pending);
      pending.fill(0);
      // the keyring is already under the pending key (a crash after the save): finish that rotation first
      if (pendingId === inUseKeyId) await this.promoteNext();
      else await unlink(this.nextPath);
    }
    await this.create(this.nextPath);
    const next = await this.read(this.nextPath);
    if (next === null) throw new KeyringError(`root key file \`${this.nextPath}\` could not be created`);
    const keyId = localKeyId(next);
    return {
      keyId,
      wrapKey: (key, context) => Promise.resolve(wrapWithLocalKey(next, key, context)),
      commit: async () => {
        next.fill(0);
        await this.promoteNext();
        return { destroyedPrevious: true };
      },
      abort: async () => {
        next.fill(0);
        await unlink(this.nextPath).catch(() => undefined);
      },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The root key, created (0600) at first use. The caller wipes it. */
  async getRootKey(): Promise<Buffer> {
    const existing = await this.read(this.path);
    if (existing !== null) return existing;
    await this.create(this.path);
    const created = await this.read(this.path);
    if (created === null) throw new KeyringError(`root key file \`${this.path}\` could not be created`);
    return created;
  }

  /** `<path>.next` replaces `<path>` (atomically), and the directory is synced. */
  private async promoteNext(): Promise<void> {
    try {
      await rename(this.nextPath, this.path);
      await syncDirectory(dirname(this.path));
    } catch (err) {
      throw new KeyringError(`root key file \`${this.nextPath}\` could not replace \`${this.path}\``, { cause: err });
    }
  }

  private async read(path: string): Promise<Buffer | null> {
    let handle;
    try {
      // O_NOFOLLOW: a symlink planted at the key path is refused rather than followed
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return null;
      throw new KeyringError(`root key file \`${path}\` cannot be opened`, { cause: err });
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new KeyringError(`root key file \`${path}\` is not a regular file`);
      // a key other local users can read protects nothing: refuse it, loudly
      if ((stat.mode & 0o077) !== 0) {
        throw new KeyringError(`root key file \`${path}\` is accessible by group or others: restrict it with chmod 600`);
      }
      if (stat.size !== ROOT_KEY_LENGTH) throw new KeyringError(`root key file \`${path}\` is not valid: expected ${ROOT_KEY_LENGTH} bytes`);
      const key = Buffer.alloc(ROOT_KEY_LENGTH);
      const { bytesRead } = await handle.read(key, 0, ROOT_KEY_LENGTH, 0);
      if (bytesRead !== ROOT_KEY_LENGTH) {
        key.fill(0);
        throw new KeyringError(`root key file \`${path}\` is not valid: expected ${ROOT_KEY_LENGTH} bytes`);
      }
      return key;
    } catch (err) {
      if (err instanceof KeyringError) throw err;
      throw new KeyringError(`root key file \`${path}\` cannot be read`, { cause: err });
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes a fresh key to a private temporary file (O_EXCL, 0600), syncs it, then
   * links it into place: link fails if the key file exists, so two processes starting
   * together never overwrite each other and nobody ever reads a half-written key.
   */
  private async create(path: string): Promise<void> {
    const dir = dirname(path);
    const temp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
    const key = randomBytes(ROOT_KEY_LENGTH);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await handle.writeFile(key);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await link(temp, path);
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
      await syncDirectory(dir);
    } catch (err) {
      throw new KeyringError(`root key file \`${path}\` could not be created`, { cause: err });
    } finally {
      key.fill(0);
      await unlink(temp).catch(() => undefined);
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
