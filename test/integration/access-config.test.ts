/** The access module's configuration keys: defaults, limits, choices, the webhook pair. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { ConfigInvalidError } from '../../src/domain/errors.js';

test('access settings have the documented defaults', () => {
  const a = loadConfig({}).access;
  assert.deepEqual(a.maxSeconds, { reader: 7 * 86400, writer: 86400, owner: 8 * 3600 });
  assert.equal(a.shareMaxSeconds, 86400);
  assert.equal(a.breakGlassMaxSeconds, 3600);
  assert.equal(a.stepUpMaxAgeSeconds, 900);
  assert.deepEqual(a.promotionApprovals, { staging: 0, prod: 1 });
  assert.equal(a.approvals, 1);
  assert.equal(a.approvalsRestricted, 1);
  assert.equal(a.autoApproveTier, 'none');
  assert.equal(a.webhookUrl, null);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.maxSeconds));
});

test('access settings come from the environment and flags, and bad values are refused', () => {
  const a = loadConfig({ env: { COFFER_ACCESS_APPROVALS_RESTRICTED: '2', COFFER_SHARE_MAX_SECONDS: '3600' }, flags: { accessAutoApproveTier: 'internal' } }).access;
  assert.equal(a.approvalsRestricted, 2);
  assert.equal(a.shareMaxSeconds, 3600);
  assert.equal(a.autoApproveTier, 'internal');
  assert.throws(() => loadConfig({ flags: { accessAutoApproveTier: 'restricted' } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { webhookFormat: 'teams' } }), /one of coffer, slack/);
  assert.throws(() => loadConfig({ flags: { accessApprovals: 0 } }), ConfigInvalidError);
  assert.throws(() => loadConfig({ flags: { shareMaxSeconds: 31 * 86400 } }), ConfigInvalidError);
});

test('a webhook URL needs an http(s) URL and a secret', () => {
  assert.throws(() => loadConfig({ flags: { webhookUrl: 'https://hooks.example/x' } }), /webhookSecret/);
  assert.throws(() => loadConfig({ flags: { webhookUrl: 'https://hooks.example/x', webhookSecret: 'short' } }), /webhookSecret/);
  assert.throws(() => loadConfig({ flags: { webhookUrl: 'file:///etc/passwd', webhookSecret: '0123456789abcdef' } }), /http\(s\) URL/);
  const a = loadConfig({ env: { COFFER_WEBHOOK_URL: 'https://hooks.example/x', COFFER_WEBHOOK_SECRET: '0123456789abcdef' } }).access;
  assert.equal(a.webhookUrl, 'https://hooks.example/x');
});
