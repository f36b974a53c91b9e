import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import type { Caller } from '../service/caller.js';
import { earlierExpiry } from '../identity/credential-lineage.js';
import { identityOf } from '../service/identity/audit.js';
import type { S3Credential } from '../store/s3-store.js';
import type { S3Context } from './s3-context.js';

const SYSTEM = { kind: 'system' } as const;
/** Longest lifetime of S3 credentials (as short-lived as an STS session). */
export const MAX_CREDENTIAL_TTL_SECONDS = 3600;
/** Shortest lifetime accepted. */
export const MIN_CREDENTIAL_TTL_SECONDS = 60;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Identifiable prefix of session tokens, so secret scanners can find leaked ones. */
export const SESSION_TOKEN_PREFIX = 'coffer_s3session_';

/** What a caller receives once: the secret and session token are never shown again. */
export interface IssuedS3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO date. */
  expiration: string;
  region: string;
}

/** A credential as listed (no secret). */
export interface S3CredentialView {
  accessKeyId: string;
  /** The credential (session or API token) the key was minted by. */
  parentId: string;
  description: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** The object id a credential secret is wrapped under (binds the wrapped secret to its key id). */
export function secretObjectId(accessKeyId: string): string {
  return `coffer:s3:${accessKeyId}`;
}

/** The SigV4/SigV2 secret string of 32 secret bytes. */
export function encodeSecret(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** SHA-256 hex of a session token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time check of a presented session token against the stored hash. */
export function sessionTokenMatches(presented: string | undefined, storedHash: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(hashSessionToken(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function newAccessKeyId(): string {
  let out = 'CKIA';
  for (const b of randomBytes(16)) out += BASE32[b & 31];
  return out;
}

function view(c: S3Credential): S3CredentialView {
  return {
    accessKeyId: c.accessKeyId,
    parentId: c.tokenId,
    description: c.description,
    createdAt: new Date(c.createdAt).toISOString(),
    expiresAt: new Date(c.expiresAt).toISOString(),
    revokedAt: c.revokedAt === null ? null : new Date(c.revokedAt).toISOString(),
  };
}

/**
 * Issues temporary S3 credentials to the caller, minted by the credential it
 * authenticated with (session, API token or another S3 key): they carry that
 * credential's authentication methods and their times, never more, expire after
 * `ttlSeconds` (at most one hour) and never after that credential, and end with it
 * (logout, revocation, password change, lock, disable, deletion).
 */
export async function issueCredentials(ctx: S3Context, caller: Caller, input: { ttlSeconds?: number; description?: string }): Promise<IssuedS3Credentials> {
  const ttl = input.ttlSeconds ?? MAX_CREDENTIAL_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < MIN_CREDENTIAL_TTL_SECONDS || ttl > MAX_CREDENTIAL_TTL_SECONDS) {
    throw new ValidationError(`s3 credential lifetime must be between ${MIN_CREDENTIAL_TTL_SECONDS} and ${MAX_CREDENTIAL_TTL_SECONDS} seconds`);
  }
  const principal = caller.subject.principal;
  const permit = await ctx.gate.enter(caller, 'read-metadata', SYSTEM, `principal/${principal.name}/s3-credentials`, null, { s3: 'IssueCredentials' });
  const now = ctx.deps.clock();
  const lineage = identityOf(ctx.deps).lineage;
  const accessKeyId = newAccessKeyId();
  const secret = randomBytes(32);
  const sessionToken = SESSION_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  try {
    const terms = await lineage.terms(caller.credentialId, now, principal.id);
    // INVARIANT: never stronger, never longer than the credential that minted it
    const expiresAt = earlierExpiry(now + ttl * 1000, terms.latestExpiry)!;
    const tokenId = caller.credentialId;
    await lineage.mint({ id: accessKeyId, kind: 's3-key', principalId: principal.id, parentId: tokenId, origin: 'mint', methods: terms.methods, createdAt: now, expiresAt });
    const { wrappedKey, keyTerm } = ctx.keyring.wrapDataKey(secretObjectId(accessKeyId), secret);
    await ctx.store.createCredential({
      accessKeyId,
      principalId: principal.id,
      tokenId,
      wrappedSecret: wrappedKey,
      keyTerm,
      sessionHash: hashSessionToken(sessionToken),
      description: input.description ?? '',
      createdAt: now,
      expiresAt,
      revokedAt: null,
    });
    await permit.finish('success', { details: { accessKeyId, expiresAt, parentId: tokenId } });
    return { accessKeyId, secretAccessKey: encodeSecret(secret), sessionToken, expiration: new Date(expiresAt).toISOString(), region: ctx.region };
  } catch (err) {
    await permit.finish('failure', { reason: (err as { code?: string }).code ?? 'error' });
    throw err;
  } finally {
    secret.fill(0);
  }
}

/** The caller's S3 credentials (no secrets). */
export async function listCredentials(ctx: S3Context, caller: Caller): Promise<S3CredentialView[]> {
  const principal = caller.subject.principal;
  const permit = await ctx.gate.enter(caller, 'read-metadata', SYSTEM, `principal/${principal.name}/s3-credentials`, null, { s3: 'ListCredentials' });
  const items = await ctx.store.listCredentials(principal.id);
  await permit.finish('success', { details: { returned: items.length } });
  return items.map(view);
}

/** Revokes one of the caller's S3 credentials and what it minted (any one for `manage-principals`). Unknown ids are not found. */
export async function revokeCredential(ctx: S3Context, caller: Caller, accessKeyId: string): Promise<void> {
  const resource = `s3-credential/${accessKeyId.slice(0, 40)}`;
  const found = await ctx.store.getCredential(accessKeyId);
  // someone else's credential answers like a missing one unless the caller manages principals
  const permit = await ctx.gate.enterOwned(caller, found?.credential.principalId ?? null, resource, `s3 credential \`${accessKeyId.slice(0, 40)}\` not found`, { s3: 'RevokeCredential' });
  const own = found!.credential.principalId === caller.subject.principal.id;
  await identityOf(ctx.deps).lineage.revoke({ ids: [found!.credential.accessKeyId] }, ctx.deps.clock(), own ? 'revoked' : `revoked-by:${caller.subject.principal.name}`);
  await permit.finish('success');
}
