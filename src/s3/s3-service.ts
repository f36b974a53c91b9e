import { S3RequestError, isCofferError } from '../domain/errors.js';
import type { Caller } from '../service/caller.js';
import { newId } from '../domain/ids.js';
import { authenticateS3 } from './authenticate-s3.js';
import { issueCredentials, listCredentials, revokeCredential, type IssuedS3Credentials, type S3CredentialView } from './credentials.js';
import { COMPLETION_LEASE_MS, removeUpload } from './multipart.js';
import type { S3Context } from './s3-context.js';
import { errorResponse, hostId, toS3Error } from './s3-errors.js';
import type { S3HttpRequest, S3HttpResponse } from './s3-http.js';
import { artifactNameOf, targetOf } from './s3-names.js';
import { ENCRYPTED_AT_REST_OPS, checkSecurityHeaders } from './security-headers.js';
import { TrackedGate, type S3Op } from './s3-op.js';
import { operationOf } from './s3-operations.js';

/**
 * The S3 endpoint's use cases: every request is authenticated (SigV4/SigV2), mapped to
 * an operation, authorized and recorded through the Gate, then served. Every request
 * leaves an audit record, refusals included. Transports call {@link S3Service.handle}
 * with a framework-free request and write the answer as is.
 */
export class S3Service {
  constructor(readonly ctx: S3Context) {}

  /** Serves one S3 request; never rejects (errors become S3 XML error answers). */
  async handle(request: S3HttpRequest): Promise<S3HttpResponse> {
    const gate = new TrackedGate(this.ctx.deps);
    const resource = request.rawPath.slice(0, 1024);
    // the Date clients correct their clock skew from is the clock signatures are checked against
    const common = { 'x-amz-request-id': request.meta.requestId, 'x-amz-id-2': hostId(), date: new Date(this.ctx.deps.clock()).toUTCString() };
    let op: S3Op | null = null;
    let caller: Caller | null = null;
    try {
      const target = targetOf(request.rawPath);
      const auth = await authenticateS3({ ...this.ctx, gate }, request, `s3:${resource}`);
      caller = auth.caller;
      const query = auth.query.flatMap((p) => [p.name, `${p.name}=${p.value}`]);
      const on = target.bucket === '' ? 'service' : target.key === null ? 'bucket' : 'object';
      const chosen = operationOf(request.method, on, query, request.headers['x-amz-copy-source'] !== undefined);
      op = { ctx: { ...this.ctx, gate }, gate, http: request, auth, caller, name: chosen?.name ?? 'Unsupported', bucket: target.bucket, key: null, s3Key: target.key, notFound: 'NoSuchKey' };
      // INVARIANT: past this line the key is a canonical name (no traversal, one name per key)
      if (target.key !== null) op.key = artifactNameOf(target.key);
      if (chosen === null) throw new S3RequestError(`the operation \`${request.method} ${resource.slice(0, 100)}\` is not implemented by coffer`, { s3Code: 'NotImplemented' });
      // INVARIANT: a security header coffer does not honour is refused before anything is done
      await checkSecurityHeaders(op);
      const response = await chosen.handler(op);
      const encrypted: Record<string, string> = ENCRYPTED_AT_REST_OPS.has(op.name) && response.status < 300 ? { 'x-amz-server-side-encryption': 'AES256' } : {};
      return { ...response, headers: { ...common, ...encrypted, ...response.headers } };
    } catch (err) {
      const info = toS3Error(err, op?.notFound ?? 'NoSuchKey');
      if (info.status >= 500) {
        // the detail goes to the log, never to the client
        this.ctx.deps.warn('s3 request failed', { requestId: request.meta.requestId, code: isCofferError(err) ? err.code : 'unknown', detail: isCofferError(err) ? (err.detail ?? err.message) : String(err).slice(0, 500) });
      }
      if (!gate.recorded && caller !== null) {
        // refused before reaching the gate (bad input, unsupported operation): still on the record
        await gate.refuse(caller, request.meta, `s3:${op?.name ?? 'unknown'}`, `s3:${resource}`, isCofferError(err) ? err : new S3RequestError(info.message, { s3Code: info.code })).catch(() => undefined);
      }
      const response = errorResponse(info, resource, request.meta.requestId, request.method);
      return { ...response, headers: { ...common, ...response.headers } };
    }
  }

  /** Issues temporary S3 credentials to an authenticated REST caller. */
  issueCredentials(caller: Caller, input: { ttlSeconds?: number; description?: string }): Promise<IssuedS3Credentials> {
    return issueCredentials(this.ctx, caller, input);
  }

  listCredentials(caller: Caller): Promise<S3CredentialView[]> {
    return listCredentials(this.ctx, caller);
  }

  revokeCredential(caller: Caller, accessKeyId: string): Promise<void> {
    return revokeCredential(this.ctx, caller, accessKeyId);
  }

  /**
   * Removes multipart uploads older than `maxAgeMs` (abandoned: their sealed parts are
   * deleted) and expired credentials; returns how many uploads were removed. Recorded.
   */
  async sweep(maxAgeMs: number): Promise<number> {
    const now = this.ctx.deps.clock();
    let removed = 0;
    for (const u of await this.ctx.store.listStaleUploads(now - maxAgeMs, 100)) {
      // claimed as a completion would be: an upload being completed right now is left alone,
      // and none can start completing while it is removed
      if (!(await this.ctx.store.claimUploadCompletion(u.uploadId, newId('swp'), now, COMPLETION_LEASE_MS))) continue;
      await removeUpload({ ...this.ctx }, u.uploadId);
      removed++;
      await this.ctx.deps.audit.record({
        time: now,
        requestId: `s3-sweep-${u.uploadId}`,
        actor: null,
        action: 's3:abort-stale-upload',
        resource: `s3-upload/${u.uploadId}`,
        decision: 'allow',
        policies: [],
        outcome: 'success',
        context: { key: u.key, createdAt: u.createdAt },
      });
    }
    await this.ctx.store.purgeCredentials(now - 24 * 3600 * 1000);
    // a Complete retried later than an abandoned upload is kept is NoSuchUpload again
    await this.ctx.store.purgeCompletedUploads(now - maxAgeMs);
    return removed;
  }
}
