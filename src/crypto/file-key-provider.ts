import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyringError } from '../domain/errors.js';
import { ROOT_KEY_LENGTH, type KeyProvider } from './key-provider.js';

/**
 * The default KeyProvider: a root key of 32 raw bytes in a local file, generated at
 * first start with mode 0600. A key file that group or others can access is refused.
 */
export class FileKeyProvider implements KeyProvider {
  constructor(private readonly path: string) {}

  async getRootKey(): Promise<Buffer> {
    const existing = await this.read();
    if (existing !== null) return existing;
    await this.create();
    const created = await this.read();
    if (created === null) throw new KeyringError(`root key file \`${this.path}\` could not be created`);
    return created;
  }

  private async read(): Promise<Buffer | null> {
    let handle;
    try {
      // O_NOFOLLOW: a symlink planted at the key path is refused rather than followed
      handle = await open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return null;
      throw new KeyringError(`root key file \`${this.path}\` cannot be opened`, { cause: err });
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new KeyringError(`root key file \`${this.path}\` is not a regular file`);
      // a key other local users can read protects nothing: refuse it, loudly
      if ((stat.mode & 0o077) !== 0) {
        throw new KeyringError(`root key file \`${this.path}\` is accessible by group or others: restrict it with chmod 600`);
      }
      if (stat.size !== ROOT_KEY_LENGTH) throw new KeyringError(`root key file \`${this.path}\` is not valid: expected ${ROOT_KEY_LENGTH} bytes`);
      const key = Buffer.alloc(ROOT_KEY_LENGTH);
      const { bytesRead } = await handle.read(key, 0, ROOT_KEY_LENGTH, 0);
      if (bytesRead !== ROOT_KEY_LENGTH) {
        key.fill(0);
        throw new KeyringError(`root key file \`${this.path}\` is not valid: expected ${ROOT_KEY_LENGTH} bytes`);
      }
      return key;
    } catch (err) {
      if (err instanceof KeyringError) throw err;
      throw new KeyringError(`root key file \`${this.path}\` cannot be read`, { cause: err });
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes a fresh key to a private temporary file (O_EXCL, 0600), syncs it, then
   * links it into place: link fails if the key file exists, so two processes starting
   * together never overwrite each other and nobody ever reads a half-written key.
   */
  private async create(): Promise<void> {
    const dir = dirname(this.path);
    const temp = `${this.path}.${randomBytes(8).toString('hex')}.tmp`;
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
        await link(temp, this.path);
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
      await syncDirectory(dir);
    } catch (err) {
      throw new KeyringError(`root key file \`${this.path}\` could not be created`, { cause: err });
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
