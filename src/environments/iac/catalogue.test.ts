import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BUILTIN_RULE_SPECS } from './builtin-rules.js';
import { CATALOGUE_BEGIN, CATALOGUE_END, renderCatalogue } from './catalogue.js';

test('the rule catalogue in docs/environments.md is the one the rules generate (run `npm run docs:iac`)', () => {
  const doc = readFileSync(new URL('../../../../docs/environments.md', import.meta.url), 'utf8');
  const a = doc.indexOf(CATALOGUE_BEGIN);
  const b = doc.indexOf(CATALOGUE_END);
  assert.ok(a >= 0 && b > a, 'docs/environments.md lacks the catalogue markers');
  const committed = doc.slice(a + CATALOGUE_BEGIN.length + 1, b);
  assert.equal(committed, renderCatalogue(BUILTIN_RULE_SPECS), 'docs/environments.md is out of date: run `npm run docs:iac`');
  for (const s of BUILTIN_RULE_SPECS) assert.ok(committed.includes(`\`${s.id}\``), `${s.id} missing from the catalogue`);
});
