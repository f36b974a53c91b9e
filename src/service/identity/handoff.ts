import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidCredentialsError, ValidationError, isCofferError } from '../../domain/errors.js';
import type { TokenSet } from '../../identity/sessions.js';
import type { RequestMeta, ServiceDeps } from '../deps.js';
import { identityOf, recordEvent, recordMinted } from './audit.js';

/** Where a browser login hands its session to: a loopback listener of the CLI, or a page of Coffer itself. */
export interface HandoffTarget {
  /** `http://127.0.0.1:PORT/...`, `http://[::1]:PORT/...`, `http://localhost:PORT/...` or a URL under the public URL. */
  redirect: string;
  /** base64url SHA-256 of the client's secret verifier (PKCE S256). */
  challenge: string;
}

const HANDOFF_MS = 2 * 60_000;

/** Checks a hand-off target: loopback or Coffer's own origin only, and an S256 challenge. */
export function checkHandoffTarget(deps: ServiceDeps, t: HandoffTarget): HandoffTarget {
  let url: URL;
  try {
    url = new URL(t.redirect);
  } catch {
    throw new ValidationError('handoff redirect is not a URL');
  }
  const loopback = url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname) && url.port !== '';
  const publicUrl = identityOf(deps).publicUrl;
  const own = publicUrl !== null && url.origin === new URL(publicUrl).origin;
  // an open redirect here would hand a session code to any site: loopback or our own origin only
  if (!loopback && !own) throw new ValidationError('handoff redirect must be a loopback address or this server');
  if (!/^[A-Za-z0-9_-]{43}$/.test(t.challenge)) throw new ValidationError('handoff challenge must be a base64url SHA-256');
  return t;
}

/** Creates a one-time hand-off code for a session; returns the redirect URL carrying it. */
export async function createHandoff(deps: ServiceDeps, sessionId: string, target: HandoffTarget): Promise<string> {
  const identity = identityOf(deps);
  const code = randomBytes(32).toString('base64url');
  const now = deps.clock();
  await identity.identityStore.createTicket({ id: hashCode(code), kind: 'handoff', principalId: null, sessionId, data: { challenge: target.challenge }, expiresAt: now + HANDOFF_MS, consumedAt: null });
  const url = new URL(target.redirect);
  url.searchParams.set('code', code);
  return url.toString();
}

/** Exchanges a hand-off code and its verifier for the session's tokens (once); recorded either way. */
export async function exchangeHandoff(deps: ServiceDeps, meta: RequestMeta, code: string, verifier: string): Promise<TokenSet> {
  const identity = identityOf(deps);
  const now = deps.clock();
  let tokens: TokenSet;
  try {
    const t = await identity.identityStore.consumeTicket(hashCode(code), 'handoff', now);
    const expected = Buffer.from(typeof t?.data.challenge === 'string' ? t.data.challenge : '');
    const given = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
    // INVARIANT: only the client that started the flow (holding the verifier) gets the tokens
    if (t === null || t.sessionId === null || expected.length !== given.length || !timingSafeEqual(expected, given)) throw new InvalidCredentialsError();
    tokens = await identity.sessions.resume(t.sessionId, now);
  } catch (err) {
    await recordEvent(deps, meta, { actor: null, action: 'handoff-exchange', resource: 'coffer', allowed: false, outcome: 'denied', reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
  // fail closed: the tokens leave only once their minting is on record
  await recordMinted(deps, meta, 'handoff-exchange', tokens.sessionId);
  return tokens;
}

function hashCode(code: string): string {
  return createHash('sha256').update(`coffer-handoff:${code}`).digest('hex');
}
