import { credentialMfa } from '../identity/credential-lineage.js';
import { identityOf } from '../service/identity/audit.js';
import {
  AuthRequiredError,
  PrincipalDisabledError,
  S3RequestError,
  StorageError,
  TokenExpiredError,
  DecryptionFailedError,
  TokenInvalidError,
  TokenRevokedError,
  isCofferError,
} from '../domain/errors.js';
import type { CofferError } from '../domain/errors.js';
import { resolveSubject } from '../identity/resolve-subject.js';
import type { Caller } from '../service/caller.js';
import { encodeSecret, secretObjectId, sessionTokenMatches } from './credentials.js';
import type { S3Context } from './s3-context.js';
import type { S3HttpRequest } from './s3-http.js';
import { parseSigV2, verifySigV2 } from './sigv2.js';
import { parseSigV4, queryOf, verifySigV4, type SigV4Context } from './sigv4.js';
import type { QueryParam } from './uri-encode.js';

/** An authenticated S3 request: who, and what is needed to check the rest of its body. */
export interface S3Authenticated {
  caller: Caller;
  query: QueryParam[];
  /** SigV4 only: for chunk signatures of aws-chunked bodies. */
  signing: SigV4Context | null;
  /** SigV4 only: the payload hash the client signed. */
  payloadHash: string | null;
  /** The name of the signature scheme (audit). */
  scheme: 'sigv4' | 'sigv4-presigned' | 'sigv2' | 'sigv2-presigned';
}

/**
 * Authenticates an S3 request: SigV4 (header or presigned query) or SigV2 (header or
 * presigned query). The credential must exist, be neither revoked nor expired, nor may
 * any credential it was minted from be revoked or missing (credential lineage); it must
 * carry its session token, and the signature must verify with its secret. Every failure
 * is recorded in the audit log and rethrown.
 */
export async function authenticateS3(ctx: S3Context, request: S3HttpRequest, resourceName: string): Promise<S3Authenticated> {
  const now = ctx.deps.clock();
  try {
    const query = queryOf(request);
    const v4 = parseSigV4(request, query);
    const v2 = v4 === null ? parseSigV2(request, query) : null;
    if (v4 === null && v2 === null) throw new AuthRequiredError('anonymous access is not allowed: sign the request');
    const accessKeyId = (v4 ?? v2)!.accessKeyId;
    const sessionToken = (v4 ?? v2)!.sessionToken;
    const record = await ctx.store.getCredential(accessKeyId);
    if (record === null) throw new TokenInvalidError('the access key id you provided does not exist in our records');
    const { credential } = record;
    if (credential.revokedAt !== null) throw new TokenRevokedError('the credential has been revoked');
    if (credential.expiresAt <= now) throw new TokenExpiredError('the provided token has expired');
    // INVARIANT: temporary credentials are useless without their session token
    if (!sessionTokenMatches(sessionToken, credential.sessionHash)) throw new S3RequestError('the provided token is malformed or otherwise invalid', { s3Code: 'InvalidToken' });
    if (ctx.keyring.isUnknownTerm(credential.keyTerm)) await ctx.keyring.refresh();
    let secretBytes: Uint8Array;
    try {
      secretBytes = ctx.keyring.unwrapDataKey(secretObjectId(accessKeyId), credential.wrappedSecret, credential.keyTerm);
    } catch (err) {
      // sealed under a key term since retired (secrets are not rewrapped: they live an hour at most), or corrupt
      if (err instanceof DecryptionFailedError) throw new TokenInvalidError('the credential can no longer be used: fetch new credentials');
      throw err;
    }
    const secret = encodeSecret(secretBytes);
    secretBytes.fill(0);
    let signing: SigV4Context | null = null;
    if (v4 !== null) signing = verifySigV4(request, query, v4, secret, now);
    else verifySigV2(request, query, v2!, secret, now);
    const principal = await ctx.deps.store.getPrincipal(credential.principalId);
    if (principal === null || principal.kind === 'group') throw new TokenInvalidError('the access key id you provided does not exist in our records');
    if (principal.disabled) throw new PrincipalDisabledError();
    // INVARIANT: the key and every credential it was minted from are alive; its methods are its lineage's
    let lineage;
    try {
      lineage = await identityOf(ctx.deps).lineage.check(accessKeyId, now);
    } catch (err) {
      if (err instanceof TokenRevokedError) throw new TokenRevokedError('the credential has been revoked', { detail: err.detail });
      if (err instanceof TokenExpiredError) throw new TokenExpiredError('the provided token has expired');
      throw err;
    }
    const subject = await resolveSubject(ctx.deps.store, principal, now);
    const caller: Caller = {
      subject,
      meta: request.meta,
      tokenId: credential.tokenId,
      credentialId: accessKeyId,
      context: {
        sourceIp: request.meta.sourceIp,
        now,
        // the same rule as every credential: what its lineage carries
        mfa: credentialMfa(lineage, principal, now, ctx.requireStepUpForUserTokens === true),
        device: { managed: false, id: '' },
      },
    };
    return {
      caller,
      query,
      signing,
      payloadHash: v4 === null ? null : (v4).payloadHash,
      scheme: v4 !== null ? (v4.kind === 'header' ? 'sigv4' : 'sigv4-presigned') : v2!.kind === 'header' ? 'sigv2' : 'sigv2-presigned',
    };
  } catch (err) {
    // INVARIANT: any failure here is a refusal, never an anonymous pass
    const e: CofferError = isCofferError(err) ? err : new StorageError(undefined, { cause: err });
    return ctx.gate.refuse(null, request.meta, 'authenticate', resourceName, e);
  }
}
