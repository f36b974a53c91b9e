/**
 * access/: the rules of just-in-time access, independent of storage and transport:
 * request, share-link and promotion records, duration limits, the promotion order,
 * network binding of share links, the share-link token, the step-up seam, promotion
 * checks and the signed webhook notifier. Use cases live in src/service/access/.
 */
export * from './access-types.js';
export { checkDuration, formatDuration, maxDurationSeconds, parseDuration, type DurationLimits } from './durations.js';
export { environmentRank, higherEnvironment, nextEnvironment } from './environments.js';
export { ipAllowed, normalizeCidrs, MAX_CIDRS } from './cidr.js';
export { generateShareToken, shareTokenHash } from './share-token.js';
export { fourEyesViolation, ownerChain, partyOf, type PrincipalLookup } from './four-eyes.js';
export { freshAuthenticationCheck, webauthnCheck, type StepUpCheck, type StepUpSubject } from './step-up.js';
export { PromotionCheckRegistry, type PromotionCheck, type PromotionCheckInput, type PromotionCheckResult } from './promotion-checks.js';
export { DisabledNotifier, NOTIFICATION_TYPES, WebhookNotifier, signWebhook, verifyWebhookSignature } from './webhook.js';
export type { DeliveryOutcome, Notification, NotificationType, Notifier, WebhookOptions } from './webhook.js';
