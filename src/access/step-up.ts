import { StepUpRequiredError } from '../domain/errors.js';
import type { RequestContext } from '../policy/policy-engine.js';
import { MACHINE_METHODS } from '../identity/credential-lineage.js';

/** What a step-up check looks at: the request context (its `mfa` comes from the credential's lineage). */
export interface StepUpSubject {
  context: RequestContext;
  /** Set for callers authenticated by a session; informational, the check reads only `context.mfa`. */
  sessionId?: string | undefined;
}

/**
 * A step-up check: throws StepUpRequiredError unless the caller's authentication is
 * strong and fresh enough for a sensitive action (break-glass, unlock).
 *
 * `context.mfa` holds the methods of the credential's lineage with the age of the
 * strongest (src/identity/credential-lineage.ts): a token or S3 key minted by a session
 * carries the session's methods and their real age, so minting a credential never makes
 * an authentication look fresher or stronger than it was.
 */
export type StepUpCheck = (subject: StepUpSubject) => void;


/**
 * The default check: a lineage with any interactive method needs a `webauthn`
 * assertion younger than `maxAgeSeconds`; a purely non-interactive lineage needs its
 * strongest method younger than that (the setup token within its first minutes, a
 * service account's exchanged token). Whether the credential is a session or an API
 * token does not matter: only what its lineage proves.
 */
export function freshAuthenticationCheck(maxAgeSeconds: number): StepUpCheck {
  return ({ context }) => {
    const methods = context.mfa.methods;
    // a lineage made only of machine methods has no security key to ask for; anything else
    // (a person's factor, `step-up-enforced`, a method unknown here) means a person, and
    // no method at all is a credential we know nothing about (fail closed)
    const interactive = methods.length === 0 || methods.some((m) => !MACHINE_METHODS.has(m));
    if (interactive && !methods.includes('webauthn')) throw new StepUpRequiredError();
    // fail closed: an unknown or negative age is not fresh
    const age = context.mfa.ageSeconds;
    if (!Number.isFinite(age) || age < 0 || age > maxAgeSeconds) {
      throw new StepUpRequiredError(`step-up required: this needs an authentication younger than ${maxAgeSeconds} seconds (confirm with your security key)`);
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
