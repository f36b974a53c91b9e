import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepUpRequiredError } from '../domain/errors.js';
import type { RequestContext } from '../policy/policy-engine.js';
import { freshAuthenticationCheck, webauthnCheck } from './step-up.js';

const ctx = (methods: string[], ageSeconds: number): RequestContext => ({ sourceIp: '127.0.0.1', now: 0, mfa: { methods, ageSeconds }, device: { managed: false, id: '' } });

test('the default check wants a fresh security key from any lineage with a person in it', () => {
  const check = freshAuthenticationCheck(900);
  check({ context: ctx(['password', 'webauthn'], 10), sessionId: 'ses_1' });
  // the same lineage held by a minted token (no session) is judged the same
  check({ context: ctx(['password', 'webauthn'], 10) });
  assert.throws(() => check({ context: ctx(['password', 'webauthn'], 901) }), StepUpRequiredError);
  assert.throws(() => check({ context: ctx(['password', 'totp'], 10), sessionId: 'ses_1' }), StepUpRequiredError);
  // a token minted by a password-only session: fresh or not, no key
  assert.throws(() => check({ context: ctx(['password'], 0) }), StepUpRequiredError);
  assert.throws(() => check({ context: ctx(['sso'], 0) }), StepUpRequiredError);
  assert.throws(() => check({ context: ctx([], 0) }), StepUpRequiredError, 'no method at all fails closed');
  assert.throws(() => check({ context: ctx(['something-new'], 0) }), StepUpRequiredError, 'an unknown method counts as a person');
});

test('a purely non-interactive lineage needs its strongest method within the window', () => {
  const check = freshAuthenticationCheck(900);
  check({ context: ctx(['token'], 900) });
  check({ context: ctx(['private_key_jwt'], 30) });
  assert.throws(() => check({ context: ctx(['token'], 901) }), StepUpRequiredError);
  assert.throws(() => check({ context: ctx(['token'], -1) }), StepUpRequiredError);
  assert.throws(() => check({ context: ctx(['token'], Number.NaN) }), StepUpRequiredError);
});

test('a user token whose exemption was withdrawn needs a security key, however fresh', () => {
  const check = freshAuthenticationCheck(900);
  assert.throws(() => check({ context: ctx(['token', 'step-up-enforced'], 0) }), StepUpRequiredError);
  check({ context: ctx(['api-token', 'webauthn'], 10), sessionId: 'ses_2' });
});

test('the strict check wants WebAuthn whatever the credential', () => {
  const check = webauthnCheck(300);
  assert.throws(() => check({ context: ctx(['token'], 0) }), StepUpRequiredError);
  check({ context: ctx(['webauthn'], 300) });
  assert.throws(() => check({ context: ctx(['webauthn'], 301) }), StepUpRequiredError);
});
