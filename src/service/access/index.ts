/**
 * Use cases of the access module: just-in-time access requests with N-of-M approvals,
 * break-glass with reviews, promotion gates, revocable share links, the expiry sweep.
 * Build with {@link openAccess} in the composition root; routes call {@link AccessService}.
 */
export { AccessService } from './access-service.js';
export type { AccessContext } from './access-context.js';
export { openAccess } from './open-access.js';
export type { AccessModule } from './open-access.js';
export type { RequestAccessInput } from './request-access.js';
export type { BreakGlassInput } from './break-glass.js';
export type { PromoteInput, PromoteResult } from './promote-version.js';
export type { CreateShareLinkInput, CreatedShareLink } from './share-links.js';
export type { SharedDownload } from './share-download.js';
export type { RequestListKind } from './list-requests.js';
export type { RequestView, ShareLinkView, PromotionView } from './views.js';
