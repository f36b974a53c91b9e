import { execFile } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Mounts a tmpfs of `sizeMiB` at `dir` (needs root). Returns null on success, or why
 * it failed (so the caller can skip with that message).
 */
export async function mountTmpfs(dir: string, sizeMiB: number): Promise<string | null> {
  if (process.platform !== 'linux') return `tmpfs needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'mounting a tmpfs needs root';
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir], { timeout: 10_000 });
    return null;
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`;
  }
}

/** Remounts the tmpfs at `dir` with `options` (e.g. `ro`, `rw`, `size=8m`); throws with mount's message on failure. */
export async function remount(dir: string, options: string): Promise<void> {
  try {
    await run('mount', ['-o', `remount,${options}`, dir], { timeout: 10_000 });
  } catch (err) {
    throw new Error(`mount -o remount,${options} ${dir} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

/** Unmounts `dir`, lazily if it is still busy. Never throws (for `after` hooks). */
export async function unmount(dir: string): Promise<void> {
  try {
    await run('umount', [dir], { timeout: 10_000 });
  } catch {
    await run('umount', ['-l', dir], { timeout: 10_000 }).catch(() => undefined);
  }
}

/** Fills the filesystem of `dir` to the last byte with one file; returns its path (unlink it to give the space back). */
export async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const fh = await open(path, 'w');
  try {
    for (const size of [1024 * 1024, 64 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0xaa);
      for (;;) {
        try {
          await fh.write(chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    await fh.close();
  }
  return path;
}
