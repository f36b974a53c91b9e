import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ModelSignatureInvalidError } from '../../domain/errors.js';

/** Files the reference library leaves out of a model by default. */
export const DEFAULT_IGNORED = ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'];

/**
 * SHA-256 of every regular file under `root` (or of `root` itself when it is a file, named
 * `.` as the reference names a single-file model), skipping `ignore` (names relative to the
 * root). Streams each file; symbolic links are refused, as the reference does by default.
 */
export async function hashModelFiles(root: string, ignore: string[] = DEFAULT_IGNORED): Promise<{ name: string; sha256: string }[]> {
  const top = await lstat(root);
  if (top.isFile()) return [{ name: '.', sha256: await sha256File(root) }];
  const out: { name: string; sha256: string }[] = [];
  const ignored = new Set(ignore);
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = relative(root, path).split(sep).join('/');
      if (ignored.has(name)) continue;
      if (entry.isSymbolicLink()) throw new ModelSignatureInvalidError(`\`${name}\` is a symbolic link`);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push({ name, sha256: await sha256File(path) });
    }
  };
  await walk(root);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
