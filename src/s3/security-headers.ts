import { S3RequestError } from '../domain/errors.js';
import type { S3Op } from './s3-op.js';
import { percentDecode } from './uri-encode.js';

/** How a refused header is answered: the S3 code (its status is in s3-errors.ts) and why. */
interface Refusal {
  s3Code: 'NotImplemented' | 'InvalidArgument' | 'InvalidRequest' | 'AccessDenied' | 'AccessControlListNotSupported';
  message: string;
}

/** One row of the table: a header and what Coffer does with it. */
export interface HeaderRule {
  /** Lowercase header name; also matched as a query parameter (presigned URLs carry headers there). */
  readonly name: string;
  /** `accepted` (honoured or harmless, see `why`), `checked` (some values refused), `refused` (always). */
  readonly verdict: 'accepted' | 'checked' | 'refused';
  /** Why, for docs/s3.md (a test checks that every row is documented there). */
  readonly why: string;
  /** The refusal for `value` on this operation, or null to let the request through. */
  check(value: string, op: S3Op): Refusal | null | Promise<Refusal | null>;
}

const READS = new Set(['GetObject', 'HeadObject']);
/** Writes that do not evaluate If-Match / If-None-Match (PutObject and CompleteMultipartUpload do: write-condition.ts). */
const UNCONDITIONAL_WRITES = new Set(['CopyObject']);
const CANNED_ACLS_OF_COFFER = new Set(['private', 'bucket-owner-full-control']);

const notImplemented = (message: string): Refusal => ({ s3Code: 'NotImplemented', message });
const always = (refusal: Refusal) => () => refusal;

const SSE_C: Refusal = notImplemented('coffer does not implement SSE-C (customer-provided keys): every object is encrypted with coffer\'s own keys; send no x-amz-server-side-encryption-customer-* headers');
const SSE_C_READ: Refusal = { s3Code: 'InvalidRequest', message: 'the encryption parameters are not applicable to this object: no coffer object is encrypted with a customer-provided key' };
const KMS: Refusal = notImplemented('coffer does not implement SSE-KMS: every object is encrypted with coffer\'s own keys (x-amz-server-side-encryption: AES256 is accepted)');
const OBJECT_LOCK: Refusal = { s3Code: 'InvalidRequest', message: 'bucket is missing object lock configuration: coffer does not implement object lock or retention (versions are immutable; delete markers are governed by policy)' };
const NO_ACLS: Refusal = { s3Code: 'AccessControlListNotSupported', message: 'the bucket does not allow ACLs: access is decided by coffer policy and grants' };

/**
 * `x-amz-expected-bucket-owner` and its copy-source twin: the bucket must exist, the
 * caller must see it (`read-metadata`), and its owner (the principal id of its creator,
 * `createdBy` in `GET /v1/projects/NAME`) must be the one named. Missing, hidden and
 * another owner answer the same AccessDenied, so the header is no existence oracle.
 */
async function ownerMismatch(bucket: string | null, expected: string, op: S3Op): Promise<Refusal | null> {
  const denied: Refusal = { s3Code: 'AccessDenied', message: `access denied: the bucket is not owned by \`${expected.slice(0, 64)}\`` };
  if (bucket === null || bucket === '') return denied;
  const project = await op.ctx.deps.store.getProjectByName(bucket);
  if (project === null || !op.gate.decide(op.caller, 'read-metadata', { kind: 'project', project }).allowed) return denied;
  return project.createdBy === expected ? null : denied;
}

function copySourceBucket(op: S3Op): string | null {
  const source = op.http.headers['x-amz-copy-source'];
  if (source === undefined) return null;
  const path = percentDecode(source.split('?', 1)[0]!.replace(/^\//, ''));
  return path === null ? null : path.split('/', 1)[0]!;
}

/**
 * The security-relevant headers Coffer receives and does not (or only partly) honour, and
 * what it does with each. Silently ignoring one would let a client believe in a protection
 * that is not there (an SSE-C object readable without its key, a retention that does not
 * hold, a public-read ACL that grants nothing... or a private one that is taken for
 * granted), so each is decided here, for every operation, before anything is done.
 */
export const SECURITY_HEADERS: readonly HeaderRule[] = [
  {
    name: 'x-amz-server-side-encryption',
    verdict: 'checked',
    why: '`AES256` accepted and echoed (coffer encrypts every object, AES-256-GCM with one data key per version); `aws:kms`, `aws:kms:dsse` NotImplemented; anything else InvalidArgument',
    check: (value) =>
      value === 'AES256' ? null : value === 'aws:kms' || value === 'aws:kms:dsse' ? KMS : { s3Code: 'InvalidArgument', message: 'the encryption method specified is not supported: x-amz-server-side-encryption must be AES256' },
  },
  { name: 'x-amz-server-side-encryption-aws-kms-key-id', verdict: 'refused', why: 'NotImplemented: no SSE-KMS (keys are coffer\'s own)', check: always(KMS) },
  { name: 'x-amz-server-side-encryption-context', verdict: 'refused', why: 'NotImplemented: no SSE-KMS encryption context', check: always(KMS) },
  {
    name: 'x-amz-server-side-encryption-bucket-key-enabled',
    verdict: 'checked',
    why: '`false` accepted (nothing to enable); `true` NotImplemented (an SSE-KMS setting)',
    check: (value) => (value.toLowerCase() === 'false' ? null : KMS),
  },
  ...['algorithm', 'key', 'key-md5'].map(
    (part): HeaderRule => ({
      name: `x-amz-server-side-encryption-customer-${part}`,
      verdict: 'refused',
      why: 'SSE-C is not implemented: NotImplemented on writes, InvalidRequest on GetObject/HeadObject (no object is SSE-C encrypted, so a read without the key must not be mistaken for one with it)',
      check: (_value, op) => (READS.has(op.name) ? SSE_C_READ : SSE_C),
    }),
  ),
  ...['algorithm', 'key', 'key-md5'].map(
    (part): HeaderRule => ({
      name: `x-amz-copy-source-server-side-encryption-customer-${part}`,
      verdict: 'refused',
      why: 'InvalidRequest: no copy source is SSE-C encrypted',
      check: always(SSE_C_READ),
    }),
  ),
  { name: 'x-amz-object-lock-mode', verdict: 'refused', why: 'InvalidRequest: no object lock or retention', check: always(OBJECT_LOCK) },
  { name: 'x-amz-object-lock-retain-until-date', verdict: 'refused', why: 'InvalidRequest: no object lock or retention', check: always(OBJECT_LOCK) },
  { name: 'x-amz-object-lock-legal-hold', verdict: 'refused', why: 'InvalidRequest: no legal hold', check: always(OBJECT_LOCK) },
  {
    name: 'x-amz-bucket-object-lock-enabled',
    verdict: 'checked',
    why: '`false` accepted; `true` (CreateBucket with object lock) NotImplemented',
    check: (value) => (value.toLowerCase() === 'false' ? null : notImplemented('coffer does not implement object lock: create the bucket without x-amz-bucket-object-lock-enabled')),
  },
  {
    name: 'x-amz-bypass-governance-retention',
    verdict: 'accepted',
    why: 'ignored: it asks for less protection, and there is no retention to bypass',
    check: () => null,
  },
  {
    name: 'x-amz-acl',
    verdict: 'checked',
    why: '`private` and `bucket-owner-full-control` accepted (they grant nothing beyond policy, which is what coffer does); every other canned ACL AccessControlListNotSupported',
    check: (value) => (CANNED_ACLS_OF_COFFER.has(value) ? null : NO_ACLS),
  },
  ...['read', 'write', 'read-acp', 'write-acp', 'full-control'].map(
    (g): HeaderRule => ({ name: `x-amz-grant-${g}`, verdict: 'refused', why: 'AccessControlListNotSupported: access is granted by coffer grants, not ACLs', check: always(NO_ACLS) }),
  ),
  {
    name: 'x-amz-object-ownership',
    verdict: 'checked',
    why: '`BucketOwnerEnforced` accepted (ACLs disabled, as always); `ObjectWriter`, `BucketOwnerPreferred` NotImplemented',
    check: (value) => (value === 'BucketOwnerEnforced' ? null : notImplemented('coffer buckets are always BucketOwnerEnforced: ACLs are disabled')),
  },
  {
    name: 'x-amz-website-redirect-location',
    verdict: 'refused',
    why: 'NotImplemented: no website endpoint, no redirects',
    check: always(notImplemented('coffer does not implement website redirects: send no x-amz-website-redirect-location')),
  },
  { name: 'x-amz-request-payer', verdict: 'accepted', why: 'ignored: coffer does not charge requesters; it grants nothing', check: () => null },
  {
    name: 'x-amz-expected-bucket-owner',
    verdict: 'checked',
    why: 'honoured: the bucket must be visible to the caller and created by the principal id given (`createdBy` of the project), else AccessDenied (missing and hidden buckets answer the same)',
    check: (value, op) => (op.bucket === '' ? null : ownerMismatch(op.bucket, value, op)),
  },
  {
    name: 'x-amz-source-expected-bucket-owner',
    verdict: 'checked',
    why: 'honoured as `x-amz-expected-bucket-owner`, for the copy source bucket',
    check: (value, op) => ownerMismatch(copySourceBucket(op), value, op),
  },
  { name: 'x-amz-mfa', verdict: 'refused', why: 'NotImplemented: no MFA delete (coffer step-up is its second factor)', check: always(notImplemented('coffer does not implement MFA delete: send no x-amz-mfa')) },
  {
    name: 'x-amz-tagging',
    verdict: 'refused',
    why: 'NotImplemented: object tags are not stored, so tag-based rules could not apply',
    check: always(notImplemented('coffer does not store object tags: send no x-amz-tagging')),
  },
  { name: 'x-amz-write-offset-bytes', verdict: 'refused', why: 'NotImplemented: objects are never appended to', check: always(notImplemented('coffer does not append to objects')) },
  ...['if-none-match', 'if-match'].map(
    (name): HeaderRule => ({
      name,
      verdict: 'checked',
      why: 'honoured on reads (GetObject, HeadObject) and on writes (PutObject, CompleteMultipartUpload: `If-None-Match: *`, `If-Match: ETag`, 412 PreconditionFailed, atomic with the commit across nodes); NotImplemented on CopyObject, which would otherwise write unconditionally',
      check: (_value, op) => (UNCONDITIONAL_WRITES.has(op.name) ? notImplemented(`coffer does not implement conditional ${op.name}: send no ${name} with it`) : null),
    }),
  ),
  ...['if-modified-since', 'if-unmodified-since'].map(
    (cond): HeaderRule => ({
      name: `x-amz-copy-source-${cond}`,
      verdict: 'refused',
      why: 'NotImplemented: only x-amz-copy-source-if-match and -if-none-match are evaluated',
      check: always(notImplemented(`coffer does not evaluate x-amz-copy-source-${cond}: use x-amz-copy-source-if-match`)),
    }),
  ),
];

const BY_NAME = new Map(SECURITY_HEADERS.map((r) => [r.name, r]));

/**
 * Applies {@link SECURITY_HEADERS} to a request, headers and query parameters alike
 * (a presigned URL carries headers in its query). Throws the first refusal as an
 * S3RequestError; the dispatcher records it (nothing has been done yet).
 */
export async function checkSecurityHeaders(op: S3Op): Promise<void> {
  const seen: [HeaderRule, string][] = [];
  for (const [name, value] of Object.entries(op.http.headers)) {
    const rule = BY_NAME.get(name);
    if (rule !== undefined) seen.push([rule, value]);
  }
  for (const p of op.auth.query) {
    const rule = BY_NAME.get(p.name.toLowerCase());
    if (rule !== undefined) seen.push([rule, p.value]);
  }
  for (const [rule, value] of seen) {
    const refusal = await rule.check(value.trim(), op);
    if (refusal !== null) throw new S3RequestError(refusal.message, { s3Code: refusal.s3Code, detail: `header \`${rule.name}\` refused on ${op.name}` });
  }
}

/** Operations whose answer says the object is encrypted at rest (`x-amz-server-side-encryption: AES256`), as S3 does. */
export const ENCRYPTED_AT_REST_OPS: ReadonlySet<string> = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload', 'GetObject', 'HeadObject']);
