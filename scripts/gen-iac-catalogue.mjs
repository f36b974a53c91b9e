#!/usr/bin/env node
// Rewrites the rule catalogue in docs/environments.md from the built-in rules themselves
// (between the iac-catalogue markers). Run through `npm run docs:iac` (which builds first);
// src/environments/iac/catalogue.test.ts fails when the committed catalogue is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { BUILTIN_RULE_SPECS, renderCatalogue } from '../dist/src/environments/index.js';
import { CATALOGUE_BEGIN, CATALOGUE_END } from '../dist/src/environments/iac/catalogue.js';

const path = new URL('../docs/environments.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const a = doc.indexOf(CATALOGUE_BEGIN);
const b = doc.indexOf(CATALOGUE_END);
if (a < 0 || b < a) {
  console.error(`docs/environments.md has no ${CATALOGUE_BEGIN} ... ${CATALOGUE_END} section`);
  process.exit(1);
}
const next = doc.slice(0, a + CATALOGUE_BEGIN.length) + '\n' + renderCatalogue(BUILTIN_RULE_SPECS) + doc.slice(b);
if (next === doc) console.log('docs/environments.md: catalogue up to date');
else {
  writeFileSync(path, next);
  console.log(`docs/environments.md: catalogue of ${BUILTIN_RULE_SPECS.length} rules rewritten`);
}
