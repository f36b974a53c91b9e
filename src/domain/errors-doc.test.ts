import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as catalog from './errors.js';

test('docs/errors.md lists exactly the codes of the catalog', () => {
  const codes = new Set<string>();
  for (const value of Object.values(catalog)) {
    if (typeof value === 'function' && 'code' in value && typeof value.code === 'string') codes.add(value.code);
  }
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(COFFER_[A-Z0-9_]+)`/gm)].map((m) => m[1]!));
  assert.deepEqual([...codes].filter((c) => !documented.has(c)), [], 'codes missing from docs/errors.md');
  assert.deepEqual([...documented].filter((c) => !codes.has(c)), [], 'documented codes not in the catalog');
});

test('codes are unique and instances carry the class code', () => {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(catalog)) {
    if (typeof value !== 'function' || !('code' in value) || typeof value.code !== 'string') continue;
    assert.ok(!seen.has(value.code), `${value.code} used by ${seen.get(value.code)} and ${name}`);
    seen.set(value.code, name);
    const Ctor = value as unknown as new () => catalog.CofferError;
    const err = new Ctor();
    assert.equal(err.code, value.code);
    assert.ok(err instanceof catalog.CofferError);
    assert.match(err.message, /^[a-z]/);
    assert.doesNotMatch(err.message, /\.$/);
  }
});
