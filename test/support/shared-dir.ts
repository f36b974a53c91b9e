import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './paths.js';

/**
 * A directory of the shared fixtures (`../shared` beside the repository, as CI lays it
 * out; `COFFER_SHARED_DIR` points elsewhere), or null when it is absent: a fresh clone
 * has no `../shared`, and the tests that read it must then skip, not fail.
 */
export function sharedDir(...parts: string[]): string | null {
  const base = process.env.COFFER_SHARED_DIR ? resolve(process.env.COFFER_SHARED_DIR) : join(repoRoot(), '..', 'shared');
  const dir = join(base, ...parts);
  return existsSync(dir) ? dir : null;
}

/** The one-line reason a test gives when `../shared/<parts>` is absent. */
export function sharedAbsent(...parts: string[]): string {
  return `../shared/${parts.join('/')} is absent (a fresh clone has none; CI provides it, COFFER_SHARED_DIR points elsewhere): skipped`;
}
