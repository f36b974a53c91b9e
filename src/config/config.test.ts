import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.js';
import { ConfigInvalidError } from '../domain/errors.js';

test('defaults: embedded, loopback, frozen', () => {
  const c = loadConfig();
  assert.equal(c.listen.host, '127.0.0.1');
  assert.equal(c.databaseUrl, null);
  assert.equal(c.tls, null);
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.listen));
});

test('precedence: file < environment < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ logLevel: 'debug', listen: '127.0.0.1:1000', segmentSize: 8192 }));
  const c = loadConfig({ file, env: { COFFER_LISTEN: '127.0.0.1:2000', COFFER_SEGMENT_SIZE: '16384' }, flags: { segmentSize: 32768 } });
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.listen.port, 2000);
  assert.equal(c.segmentSize, 32768);
});

test('unknown keys are errors that name the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ dataDri: '/x' }));
  assert.throws(() => loadConfig({ file }), (e: unknown) => e instanceof ConfigInvalidError && /`dataDri`/.test(e.message));
  assert.throws(() => loadConfig({ env: { COFFER_DATADIR: '/x' } }), /`COFFER_DATADIR`/);
  assert.throws(() => loadConfig({ flags: { bogus: 1 } }), /`bogus`/);
});

test('bad values are refused', () => {
  assert.throws(() => loadConfig({ flags: { listen: 'localhost' } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { listen: '127.0.0.1:99999' } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { segmentSize: 12 } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ env: { COFFER_LOG_LEVEL: 'loud' } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { tlsCertFile: '/a.pem' } }), /together/);
  assert.throws(() => loadConfig({ file: '/nonexistent/coffer.json' }), ConfigInvalidError);
});

test('client variables and test variables are not server config errors', () => {
  const c = loadConfig({ env: { COFFER_URL: 'http://x', COFFER_TOKEN: 'secret', COFFER_TEST_PG_URL: 'x', PATH: '/bin' } });
  assert.equal(c.logLevel, 'info');
});
