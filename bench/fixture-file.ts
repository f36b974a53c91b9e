import { createHash, randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 8 * 1024 * 1024;

/**
 * Writes `bytes` random bytes to `path` (incompressible, so no layer can shortcut
 * them) and returns their SHA-256 in hex.
 */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'w', 0o600);
  try {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, bytes)));
    for (let done = 0; done < bytes; ) {
      const n = Math.min(buf.length, bytes - done);
      const chunk = buf.subarray(0, n);
      randomFillSync(chunk);
      hash.update(chunk);
      await file.write(chunk, 0, n);
      done += n;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
