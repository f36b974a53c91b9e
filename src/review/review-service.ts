import type { Caller } from '../service/caller.js';
import type { ServiceDeps } from '../service/deps.js';
import type { Gate } from '../service/gate.js';
import type { ReviewCampaign } from '../store/monitor-store.js';
import * as campaigns from './campaigns.js';
import type { ReviewDeps, ReviewScope } from './campaigns.js';
import * as recommendations from './recommend-service.js';
import type { ReminderDeps } from './reminders.js';
import * as reminders from './reminders.js';
import type { RecommendDeps } from './recommend-service.js';

/** Settings of reviews and recommendations. */
export interface ReviewSettings {
  /** Default stale threshold of campaigns in days (0 = no automatic revocation of unused grants). */
  staleDays: number;
  /** Default window of recommendations in days. */
  recommendWindowDays: number;
}

/**
 * Access reviews and least-privilege recommendations: every operation authorizes and
 * records through the shared Gate. Transports call only this.
 */
export class ReviewService {
  readonly #review: ReviewDeps;
  readonly #recommend: RecommendDeps;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly gate: Gate,
    r: ReviewDeps & Pick<RecommendDeps, 'onApplied'>,
    private readonly settings: ReviewSettings,
    private readonly lockedPrincipals: () => Promise<ReadonlySet<string>>,
    private readonly reminderDeps: ReminderDeps,
  ) {
    this.#review = r;
    this.#recommend = { monitorStore: r.monitorStore, flushUsage: r.flushUsage, windowDays: settings.recommendWindowDays, onApplied: r.onApplied };
  }

  async startCampaign(caller: Caller, input: { scope: ReviewScope; name?: string; staleDays?: number; dueDays?: number }) {
    return campaigns.startCampaign(this.deps, this.gate, this.#review, caller, { ...input, staleDays: input.staleDays ?? this.settings.staleDays, lockedPrincipals: await this.lockedPrincipals() });
  }
  listCampaigns(caller: Caller, status?: ReviewCampaign['status']) {
    return campaigns.listCampaigns(this.deps, this.gate, this.#review, caller, status);
  }
  listItems(caller: Caller, campaignId: string) {
    return campaigns.listItems(this.deps, this.gate, this.#review, caller, campaignId);
  }
  decide(caller: Caller, itemId: string, decision: 'certify' | 'revoke', note: string | null) {
    return campaigns.decideItem(this.deps, this.gate, this.#review, caller, itemId, decision, note);
  }
  exportCampaign(caller: Caller, campaignId: string, format: 'csv' | 'json') {
    return campaigns.exportCampaign(this.deps, this.gate, this.#review, caller, campaignId, format);
  }
  /** Reminds the campaign's reviewers of their pending items now (`coffer review remind`). */
  remind(caller: Caller, campaignId: string) {
    return reminders.remindNow(this.deps, this.gate, this.reminderDeps, caller, campaignId);
  }
  /** One sweep of reminders (the timer calls it; tests too). */
  sweepReminders() {
    return reminders.sweepReminders(this.deps, this.reminderDeps);
  }
  recommend(caller: Caller, input: { principal: string; days?: number; apply?: boolean }) {
    return recommendations.recommend(this.deps, this.gate, this.#recommend, caller, input);
  }
  overPrivileged(caller: Caller, input: { days?: number }) {
    return recommendations.overPrivilegedServiceAccounts(this.deps, this.gate, this.#recommend, caller, input);
  }
}
