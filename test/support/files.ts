import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file and directory under `root` (relative paths, sorted); [] if it does not exist. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      out.push(relative(root, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out.sort();
}

/** Files under `<dataDir>/blobs/.tmp` (upload temp files). */
export async function tempFiles(dataDir: string): Promise<string[]> {
  return (await listTree(join(dataDir, 'blobs', '.tmp'))).filter((p) => !p.endsWith('/'));
}

/** The path of the blob file of version `versionId` under `<dataDir>/blobs`, or null. */
export async function blobFileOf(dataDir: string, versionId: string): Promise<string | null> {
  const hit = (await listTree(join(dataDir, 'blobs'))).find((p) => p.endsWith(`/${versionId}.blob`));
  return hit === undefined ? null : join(dataDir, 'blobs', hit);
}
