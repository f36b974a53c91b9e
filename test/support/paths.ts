import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * True when this file runs compiled (`dist/test/support/paths.js` under `npm test`),
 * false under tsx (`test/support/paths.ts`).
 */
export const RUNNING_COMPILED = !import.meta.url.endsWith('.ts');

/** The repository root: the nearest directory above this file holding package.json (works from src and dist). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/**
 * How to start the `coffer` CLI as a subprocess: `process.execPath` with these
 * arguments, run with `cwd` = {@link repoRoot} (so `--import tsx` resolves).
 * Compiled: `dist/src/cli/index.js`; under tsx: `--import tsx src/cli/index.ts`.
 */
export function cliArgs(): string[] {
  const root = repoRoot();
  return RUNNING_COMPILED ? [join(root, 'dist', 'src', 'cli', 'index.js')] : ['--import', 'tsx', join(root, 'src', 'cli', 'index.ts')];
}

/**
 * The parent's environment without any `COFFER_*` variable (and without the test
 * runner's own markers), plus `extra`: subprocesses see only what a test gives them.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('COFFER_') || k.startsWith('NODE_TEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
