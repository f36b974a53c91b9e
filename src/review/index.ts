/**
 * Reviews: access review campaigns (one item per grant with its last use, reviewers
 * chosen by policy, certify or revoke, automatic revocation of stale grants and of
 * disabled principals' grants, CSV/JSON export) and least-privilege recommendations
 * (the smallest set of grants covering a principal's use, applied in one audited step;
 * a report of over-privileged service accounts), reminders of pending review items.
 * `ReviewService` is what transports call.
 */
export { ReviewService, type ReviewSettings } from './review-service.js';
export { campaignView, itemView, type CampaignView, type ItemView, type ReviewDeps, type ReviewScope } from './campaigns.js';
export { recommendGrants, roleFor, type HeldGrant, type ProposedGrant, type Recommendation, type Use } from './recommend.js';
export type { OverPrivilegedView, RecommendationView, RecommendDeps } from './recommend-service.js';
export { csvField, toCsv } from './csv.js';
export { REVIEW_ACTOR } from './review-actor.js';
export { remindNow, sweepReminders, type ReminderDeps, type ReminderRound } from './reminders.js';
