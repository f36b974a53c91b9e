import type { Readable } from 'node:stream';
import type { ShareLink } from '../../access/access-types.js';
import { ipAllowed } from '../../access/cidr.js';
import { shareTokenHash } from '../../access/share-token.js';
import type { AuditEvent } from '../../audit/audit-event.js';
import { AuditUnavailableError, ForbiddenError, ShareLinkInvalidError, ShareLinkUnavailableError, isCofferError } from '../../domain/errors.js';
import type { CofferError } from '../../domain/errors.js';
import type { ArtifactVersion } from '../../domain/types.js';
import { resolveSubject } from '../../identity/resolve-subject.js';
import type { ByteRange } from '../../store/blob-store.js';
import type { Caller } from '../caller.js';
import { auditContext } from '../caller.js';
import type { RequestMeta } from '../deps.js';
import { meterPlaintext, resolveRange } from '../metered-plaintext.js';
import { downloadSignal, openDownloadSlot } from '../download-slot.js';
import type { AccessContext } from './access-context.js';
import { ScopeResolver } from './scope.js';
import type { Scope } from './scope.js';

/** What a share link serves: the version facts, the plaintext (or range) stream, the range. */
export interface SharedDownload {
  version: Pick<ArtifactVersion, 'number' | 'sha256' | 'size' | 'mediaType'>;
  body: Readable;
  range: ByteRange | null;
}

const ACTION = 'share-download';

/**
 * Serves a version through a share link, without authentication: the link is the
 * credential. Checked in order, each refusal recorded with the source address and
 * answered before any byte: token format and checksum, known hash, status (pending,
 * revoked, denied), expiry, download limit, source network, and that the link's creator
 * still may `share` the version (a link never outlives its creator's access). Then the
 * attempt is recorded (fail closed), one use is taken atomically (two racing requests
 * for the last use cannot both win), and the bytes stream through the vault.
 */
export async function downloadShared(ctx: AccessContext, token: string, meta: RequestMeta, input: { range?: { start?: number; end?: number; suffix?: number } | undefined; signal?: AbortSignal }): Promise<SharedDownload> {
  const now = ctx.deps.clock();
  const hash = shareTokenHash(token);
  // never log or record the token itself: unknown links are recorded without it
  const link = hash === null ? null : await ctx.store.getShareLinkByHash(hash);
  if (link === null) return refuse(ctx, meta, null, 'share-link', new ShareLinkInvalidError(), now);
  const resolver = new ScopeResolver(ctx);
  const scope = await resolver.scope('version', link.versionId);
  const resource = scope?.auditName ?? `share-link/${link.id}`;
  const unusable = whyUnusable(link, now);
  if (unusable !== null) return refuse(ctx, meta, link, resource, unusable, now);
  if (!ipAllowed(meta.sourceIp, link.cidrs)) return refuse(ctx, meta, link, resource, new ForbiddenError('access denied: this share link may not be used from your network'), now);
  if (scope === null || scope.version === null) return refuse(ctx, meta, link, resource, new ShareLinkUnavailableError('share link can no longer be used: its version is gone'), now);
  const policies = await creatorMayShare(ctx, link, scope, meta, now);
  if (policies === null) return refuse(ctx, meta, link, resource, new ShareLinkUnavailableError('share link can no longer be used: its creator may no longer share this version'), now);

  const version = scope.version;
  let range: ByteRange | null = null;
  try {
    // resolved before a use is taken: a bad range costs the link nothing
    range = input.range === undefined ? null : resolveRange(input.range, version.size);
  } catch (err) {
    return refuse(ctx, meta, link, resource, err as CofferError, now);
  }

  const base = { requestId: meta.requestId, actor: linkActor(link), action: ACTION, resource, policies: [...policies, `share-link/${link.id}`] };
  const context = { ...auditContext(meta), linkId: link.id, createdBy: link.createdBy };
  // INVARIANT: the slot is open before the attempt record; the download is the link
  // creator's, so a lock of the creator cuts what flows through the links they made
  const slot = await openDownloadSlot(ctx.deps, link.createdBy);
  try {
    await write(ctx, { ...base, time: now, decision: 'allow', outcome: 'attempt', context });
    // INVARIANT: a use is taken (compare-and-set) after the record and before any byte
    if (!(await ctx.store.takeShareDownload(link.id, now))) {
      return await refuse(ctx, meta, link, resource, new ShareLinkUnavailableError('share link can no longer be used: it was revoked, expired or used up'), now);
    }
  } catch (err) {
    slot.close();
    throw err;
  }
  let finished = false;
  const finish = (outcome: 'success' | 'failure', bytes: number, reason?: string) => {
    if (finished) return;
    finished = true;
    const event: AuditEvent = { ...base, time: ctx.deps.clock(), decision: 'allow', outcome, bytes, context: { ...context, ...(range ? { range: `${range.start}-${range.end}` } : {}) }, ...(reason ? { reason } : {}) };
    write(ctx, event).catch((err: unknown) => ctx.deps.warn('audit completion record failed', { requestId: meta.requestId, code: isCofferError(err) ? err.code : 'unknown' }));
  };
  let body: Readable;
  try {
    slot.throwIfCut();
    body = await ctx.deps.vault.open(
      { objectId: version.id, blobKey: version.blobKey, size: version.size, wrappedKey: version.wrappedKey, keyTerm: version.keyTerm },
      { ...(range ? { range } : {}), signal: downloadSignal(slot, input.signal) },
    );
  } catch (caught) {
    const err = slot.failureOf(caught);
    slot.close();
    finish('failure', 0, isCofferError(err) ? err.code : 'error');
    throw err;
  }
  const metered = await meterPlaintext(body, (r) => finish(r.outcome, r.bytes, r.outcome === 'failure' ? r.reason : undefined), { slot });
  return { version: { number: version.number, sha256: version.sha256, size: version.size, mediaType: version.mediaType }, body: metered, range };
}

function whyUnusable(link: ShareLink, now: number): CofferError | null {
  if (link.status === 'pending') return new ShareLinkUnavailableError('share link can no longer be used: it is waiting for approval');
  if (link.status === 'revoked') return new ShareLinkUnavailableError('share link can no longer be used: it was revoked');
  if (link.status === 'denied') return new ShareLinkUnavailableError('share link can no longer be used: its approval was denied');
  if (link.expiresAt === null || link.expiresAt <= now) return new ShareLinkUnavailableError('share link can no longer be used: it has expired');
  if (link.maxDownloads !== null && link.downloads >= link.maxDownloads) return new ShareLinkUnavailableError('share link can no longer be used: its download limit is reached');
  return null;
}

/** The policies that let the creator `share` the version now, or null (creator gone, disabled or without the right). */
async function creatorMayShare(ctx: AccessContext, link: ShareLink, scope: Scope, meta: RequestMeta, now: number): Promise<string[] | null> {
  const creator = await ctx.deps.store.getPrincipal(link.createdBy);
  if (creator === null || creator.disabled || creator.kind === 'group') return null;
  const subject = await resolveSubject(ctx.deps.store, creator, now);
  const caller: Caller = {
    subject,
    meta,
    tokenId: link.id,
    credentialId: link.id,
    // the creator is not here: only their rights are asked, not their authentication (its step-up
    // was required when the link was created), so the context is that of a fresh security key
    context: { sourceIp: meta.sourceIp, now, mfa: { methods: ['webauthn'], ageSeconds: 0 }, device: { managed: false, id: '' } },
  };
  const decision = ctx.gate.decide(caller, 'share', scope.ref);
  return decision.allowed ? decision.determining : null;
}

function linkActor(link: ShareLink | null): AuditEvent['actor'] {
  return link === null ? null : { id: link.id, name: `share-link ${link.hint}`, kind: 'share-link' };
}

async function refuse(ctx: AccessContext, meta: RequestMeta, link: ShareLink | null, resource: string, err: CofferError, now: number): Promise<never> {
  await write(ctx, {
    time: now,
    requestId: meta.requestId,
    actor: linkActor(link),
    action: ACTION,
    resource,
    decision: 'deny',
    policies: [],
    outcome: 'denied',
    reason: err.code,
    context: { ...auditContext(meta), ...(link ? { linkId: link.id, createdBy: link.createdBy, why: err.message } : {}) },
  });
  throw err;
}

async function write(ctx: AccessContext, event: AuditEvent): Promise<void> {
  try {
    await ctx.deps.audit.record(event);
  } catch (err) {
    // INVARIANT: no audit record, no byte (fail closed)
    if (err instanceof AuditUnavailableError) throw err;
    throw new AuditUnavailableError(undefined, { cause: err, detail: (err as Error).message });
  }
}
