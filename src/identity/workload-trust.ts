import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { TokenInvalidError, ValidationError } from '../domain/errors.js';
import { mapJoseError } from './access-token.js';

/** A binding: an ID token whose claims all equal these values maps to the service account. */
export interface WorkloadBinding {
  serviceAccount: string;
  /** Claim name -> exact string value (`sub`, `repository`, `ref`...). */
  claims: Record<string, string>;
}

/** A trusted workload issuer (a CI system's OIDC provider). */
export interface WorkloadIssuer {
  name: string;
  /** Exact `iss` of its ID tokens. */
  issuer: string;
  /** Where its signing keys are (fetched and cached), or the keys inline. */
  jwksUri?: string;
  jwks?: JSONWebKeySet;
  /** The `aud` its tokens must carry for Coffer. */
  audience: string;
  bindings: WorkloadBinding[];
}

const ALGORITHMS = ['RS256', 'ES256', 'ES384', 'EdDSA', 'PS256'];
/** Longest ID token accepted for an exchange (they are meant to be minted per job). */
const MAX_ID_TOKEN_SECONDS = 3600;

/** Validates an issuer configuration (an admin input). */
export function checkWorkloadIssuer(w: WorkloadIssuer): WorkloadIssuer {
  let iss: URL;
  try {
    iss = new URL(w.issuer);
  } catch {
    throw new ValidationError('issuer must be a URL');
  }
  if (w.jwksUri === undefined && w.jwks === undefined) throw new ValidationError('an issuer needs `jwksUri` or `jwks`');
  if (w.jwksUri !== undefined) {
    const u = new URL(w.jwksUri);
    // key material over plain HTTP only on loopback (tests, sidecars)
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))) throw new ValidationError('jwksUri must be https (http only on loopback)');
  }
  if (iss.protocol !== 'https:' && iss.protocol !== 'http:') throw new ValidationError('issuer must be an http(s) URL');
  if (w.bindings.length === 0 || w.bindings.some((b) => Object.keys(b.claims).length === 0)) throw new ValidationError('every binding needs at least one claim to match (never trust a whole issuer)');
  return w;
}

/**
 * Verifies workload ID tokens against trusted issuers and maps them to service
 * accounts. Keys come from the issuer's JWKS (cached, refetched on an unknown `kid`) or
 * from the configuration. Signature, `iss`, `aud`, `exp`/`nbf` and a lifetime of at most
 * an hour are checked; then the first binding whose claims all match exactly wins.
 */
export class WorkloadVerifier {
  readonly #remote = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  async verify(issuers: WorkloadIssuer[], idToken: string, now: number): Promise<{ issuer: WorkloadIssuer; serviceAccount: string; claims: JWTPayload }> {
    let iss: unknown;
    try {
      iss = (JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    } catch {
      throw new TokenInvalidError('identity token is not valid');
    }
    const issuer = issuers.find((i) => i.issuer === iss);
    if (issuer === undefined) throw new TokenInvalidError('identity token is not from a trusted issuer');
    const keys = issuer.jwks !== undefined ? createLocalJWKSet(issuer.jwks) : this.remote(issuer.jwksUri!);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, keys, { algorithms: ALGORITHMS, issuer: issuer.issuer, audience: issuer.audience, currentDate: new Date(now), requiredClaims: ['exp', 'iat', 'sub'] }));
    } catch (err) {
      throw mapJoseError(err);
    }
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > MAX_ID_TOKEN_SECONDS) throw new TokenInvalidError('identity token lives too long');
    const binding = issuer.bindings.find((b) => Object.entries(b.claims).every(([k, v]) => typeof payload[k] === 'string' && payload[k] === v));
    if (binding === undefined) throw new TokenInvalidError('identity token matches no service account binding', { detail: `sub ${String(payload.sub).slice(0, 100)}` });
    return { issuer, serviceAccount: binding.serviceAccount, claims: payload };
  }

  private remote(uri: string) {
    let set = this.#remote.get(uri);
    if (set === undefined) {
      set = createRemoteJWKSet(new URL(uri), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
      this.#remote.set(uri, set);
    }
    return set;
  }
}
