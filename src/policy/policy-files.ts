import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyInvalidError } from '../domain/errors.js';
import type { PolicySource } from './load-policy-set.js';

let cachedRoot: string | undefined;

/**
 * The repository (package) root: the nearest directory above this module holding a
 * package.json. Works from src/ (tsx) and from dist/src/ (compiled) alike, so the
 * schema and the baseline pack are read from their single source in src/policy/.
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (cachedRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new PolicyInvalidError('policy files not found: no package.json above the policy module');
    dir = up;
  }
}

/** Text of Coffer's Cedar schema (src/policy/schema.cedarschema). */
export function readSchemaText(): string {
  return readFileSync(join(packageRoot(), 'src', 'policy', 'schema.cedarschema'), 'utf8');
}

/** The baseline policy pack: every `.cedar` file of src/policy/baseline/, sorted by name. */
export function readBaselinePack(): PolicySource[] {
  const dir = join(packageRoot(), 'src', 'policy', 'baseline');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cedar'))
    .sort()
    .map((f) => ({ name: `baseline/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
}
