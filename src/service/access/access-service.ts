import type { Environment, ArtifactVersion, Artifact } from '../../domain/types.js';
import type { Caller } from '../caller.js';
import type { RequestMeta } from '../deps.js';
import type { AccessContext } from './access-context.js';
import { breakGlass, listReviews, signOffReview } from './break-glass.js';
import type { BreakGlassInput } from './break-glass.js';
import { approveRequest, denyRequest } from './decide-request.js';
import { startExpirySweeper, sweepExpired } from './expiry-sweeper.js';
import { listRequests, showRequest } from './list-requests.js';
import type { RequestListKind } from './list-requests.js';
import { listPromotions, promoteVersion } from './promote-version.js';
import type { PromoteInput } from './promote-version.js';
import { requestAccess } from './request-access.js';
import type { RequestAccessInput } from './request-access.js';
import { revokeRequest } from './revoke-request.js';
import { versionEnvironment } from './scope.js';
import type { ScopeInput } from './scope.js';
import { downloadShared } from './share-download.js';
import { createShareLink, listShareLinks, revokeShareLink } from './share-links.js';
import type { CreateShareLinkInput } from './share-links.js';
import type { RequestKind, RequestStatus } from '../../access/access-types.js';

/**
 * The use cases of just-in-time access, break-glass, promotion gates and share links.
 * Each runs authorize -> audit -> act through the shared Gate; routes call only this.
 */
export class AccessService {
  constructor(readonly ctx: AccessContext) {}

  requestAccess(caller: Caller, input: RequestAccessInput) {
    return requestAccess(this.ctx, caller, input);
  }
  approve(caller: Caller, id: string, comment?: string) {
    return approveRequest(this.ctx, caller, id, comment);
  }
  deny(caller: Caller, id: string, reason: string) {
    return denyRequest(this.ctx, caller, id, reason);
  }
  revoke(caller: Caller, id: string, reason?: string) {
    return revokeRequest(this.ctx, caller, id, reason);
  }
  show(caller: Caller, id: string) {
    return showRequest(this.ctx, caller, id);
  }
  list(caller: Caller, input: { view: RequestListKind; status?: RequestStatus | undefined; kind?: RequestKind | undefined; limit?: number | undefined }) {
    return listRequests(this.ctx, caller, input);
  }

  breakGlass(caller: Caller, input: BreakGlassInput) {
    return breakGlass(this.ctx, caller, input);
  }
  listReviews(caller: Caller, input: { all?: boolean | undefined }) {
    return listReviews(this.ctx, caller, input);
  }
  signOff(caller: Caller, id: string, note: string) {
    return signOffReview(this.ctx, caller, id, note);
  }

  promote(caller: Caller, input: PromoteInput) {
    return promoteVersion(this.ctx, caller, input);
  }
  listPromotions(caller: Caller, project: string, artifact: string) {
    return listPromotions(this.ctx, caller, project, artifact);
  }

  createShareLink(caller: Caller, input: CreateShareLinkInput) {
    return createShareLink(this.ctx, caller, input);
  }
  listShareLinks(caller: Caller, input: Partial<ScopeInput>) {
    return listShareLinks(this.ctx, caller, input);
  }
  revokeShareLink(caller: Caller, id: string) {
    return revokeShareLink(this.ctx, caller, id);
  }
  /** The unauthenticated download through a share link (the token is the credential). */
  downloadShared(token: string, meta: RequestMeta, input: { range?: { start?: number; end?: number; suffix?: number } | undefined; signal?: AbortSignal }) {
    return downloadShared(this.ctx, token, meta, input);
  }

  /** Records ended accesses now (the background sweeper calls it too). */
  sweepExpired(): Promise<number> {
    return sweepExpired(this.ctx);
  }
  /** Starts the background sweep; returns its stop function. */
  startSweeper(intervalMs = 15_000): () => Promise<void> {
    return startExpirySweeper(this.ctx, intervalMs);
  }
  /** The environment a version reached (wired into ServiceDeps.versionEnvironment). */
  versionEnvironment(version: ArtifactVersion, artifact: Artifact): Promise<Environment> {
    return versionEnvironment(this.ctx, version, artifact);
  }
}
