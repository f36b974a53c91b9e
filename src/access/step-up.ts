import { StepUpRequiredError } from '../domain/errors.js';
import type { RequestContext } from '../policy/policy-engine.js';

/** What a step-up check looks at: the request context and whether the caller is a session. */
export interface StepUpSubject {
  context: RequestContext;
  /** Set for callers authenticated by a session (identity module), absent for API tokens. */
  sessionId?: string | undefined;
}

/**
 * A step-up check: throws StepUpRequiredError unless the caller's authentication is
 * strong and fresh enough for a sensitive action (break-glass).
 *
 * SEAM (WebAuthn, identity issue): the default, {@link freshAuthenticationCheck},
 * requires nothing more than an authentication younger than `maxAgeSeconds`
 * (`context.mfa.ageSeconds`): for an API token, a token issued that recently
 * (`coffer token create --ttl 900`); for a session, additionally a `webauthn` method in
 * `context.mfa.methods`, so a session caller must assert its security key again. When
 * WebAuthn covers every human caller, install {@link webauthnCheck} instead (no API
 * token can then break glass).
 */
export type StepUpCheck = (subject: StepUpSubject) => void;

/** The default check (see {@link StepUpCheck}). */
export function freshAuthenticationCheck(maxAgeSeconds: number): StepUpCheck {
  return ({ context, sessionId }) => {
    // sessions, and user tokens whose exemption was withdrawn (`step-up-enforced`), need a security-key assertion
    const needsKey = sessionId !== undefined || context.mfa.methods.includes('step-up-enforced');
    if (needsKey && !context.mfa.methods.includes('webauthn')) throw new StepUpRequiredError();
    // fail closed: an unknown or negative age is not fresh
    const age = context.mfa.ageSeconds;
    if (!Number.isFinite(age) || age < 0 || age > maxAgeSeconds) {
      throw new StepUpRequiredError(`step-up required: break-glass needs an authentication younger than ${maxAgeSeconds} seconds (a fresh token or security-key assertion)`);
    }
  };
}

/** The strict check: a `webauthn` assertion within `maxAgeSeconds`, whatever the credential. */
export function webauthnCheck(maxAgeSeconds: number): StepUpCheck {
  return ({ context }) => {
    const age = context.mfa.ageSeconds;
    if (!context.mfa.methods.includes('webauthn') || !Number.isFinite(age) || age < 0 || age > maxAgeSeconds) throw new StepUpRequiredError();
  };
}
