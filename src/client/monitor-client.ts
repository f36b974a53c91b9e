import { apiFetch, callApi } from './coffer-client.js';
import type { ClientOptions, Query } from './coffer-client.js';

/** An alert as the API shows it. */
export interface AlertInfo {
  id: string;
  rule: string;
  severity: string;
  action: 'alert' | 'lock';
  principal: string;
  principalId: string | null;
  time: string;
  createdAt: string;
  summary: string;
  triggerSeq: number;
  evidence: number[];
  measures: Record<string, number | string>;
  status: 'open' | 'acked';
  ackedBy: string | null;
  ackedAt: string | null;
  note: string | null;
}

/** One audit record behind an alert. */
export interface EvidenceInfo {
  seq: number;
  time: string;
  action: string;
  resource: string;
  outcome: string;
  bytes: number | null;
  sourceIp: string;
}

export interface LockInfo {
  id: string;
  principal: string;
  principalId: string;
  alert: string | null;
  reason: string;
  lockedAt: string | null;
  tokensRevoked: number;
  downloadsAborted: number;
  unlockedAt: string | null;
  unlockedBy: string | null;
  note: string | null;
}

export interface CampaignInfo {
  id: string;
  name: string;
  scope: string;
  staleDays: number;
  createdBy: string;
  createdAt: string;
  dueAt: string | null;
  status: 'open' | 'closed';
  closedAt: string | null;
  /** When its reviewers were last reminded of pending items (null: never). */
  lastRemindedAt: string | null;
  items?: number;
  pending?: number;
  revoked?: number;
  certified?: number;
}

export interface ReviewItemInfo {
  id: string;
  campaign: string;
  grant: string;
  principal: string;
  principalKind: string;
  principalDisabled: boolean;
  role: string;
  scope: string;
  tier: string | null;
  grantCreatedAt: string | null;
  grantExpiresAt: string | null;
  lastUsedAt: string | null;
  reviewers: string[];
  decision: 'pending' | 'certify' | 'revoke';
  decidedBy: string | null;
  decidedAt: string | null;
  note: string | null;
}

export interface RecommendationInfo {
  principal: string;
  kind: string;
  windowDays: number;
  grantsNow: number;
  grantsAfter: number;
  keep: Array<{ id: string; role: string; scope: string }>;
  remove: Array<{ id: string; role: string; scope: string; reason: string }>;
  add: Array<{ role: string; scope: string; reason: string; replaces: string }>;
  viaOtherRights: Array<{ action: string; scope: string; lastUsedAt: string }>;
  applied: boolean;
}

export interface OverPrivilegedInfo {
  principal: string;
  findings: string[];
  grantsNow: number;
  grantsAfter: number;
}

const enc = encodeURIComponent;

/** Client of the monitoring, review and recommendation API (docs/monitoring.md). */
export class MonitorClient {
  constructor(private readonly options: ClientOptions) {}

  private request(method: string, path: string, body?: unknown, query?: Query): Promise<Response> {
    return apiFetch(this.options, method, path, { body, query });
  }

  private call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    return callApi<T>(this.options, method, path, { body, query });
  }


  listAlerts(query: { status?: 'open' | 'acked'; principal?: string; limit?: number; cursor?: string } = {}) {
    return this.call<{ items: AlertInfo[]; next: string | null }>('GET', '/v1/monitor/alerts', undefined, query);
  }
  showAlert(id: string) {
    return this.call<AlertInfo & { records: EvidenceInfo[] }>('GET', `/v1/monitor/alerts/${enc(id)}`);
  }
  ackAlert(id: string, note?: string) {
    return this.call<AlertInfo>('POST', `/v1/monitor/alerts/${enc(id)}/ack`, note === undefined ? {} : { note });
  }
  listLocks() {
    return this.call<{ items: LockInfo[] }>('GET', '/v1/monitor/locks');
  }
  unlock(principal: string, note?: string) {
    return this.call<{ principal: string; locksLifted: number }>('POST', `/v1/monitor/unlock/${enc(principal)}`, note === undefined ? {} : { note });
  }
  overPrivileged(days?: number) {
    return this.call<{ items: OverPrivilegedInfo[] }>('GET', '/v1/monitor/over-privileged', undefined, { days });
  }

  startReview(input: { scope: 'all' | 'project' | 'tier'; project?: string; tier?: string; name?: string; staleDays?: number; dueDays?: number }) {
    return this.call<CampaignInfo & { autoRevoked: number }>('POST', '/v1/reviews', input);
  }
  listReviews(status?: 'open' | 'closed') {
    return this.call<{ items: CampaignInfo[] }>('GET', '/v1/reviews', undefined, { status });
  }
  showReview(id: string) {
    return this.call<{ campaign: CampaignInfo; items: ReviewItemInfo[] }>('GET', `/v1/reviews/${enc(id)}`);
  }
  /** Reminds the campaign's reviewers of their pending items now. */
  remindReview(id: string) {
    return this.call<{ campaigns: number; reminders: number; reviewers: string[] }>('POST', `/v1/reviews/${enc(id)}/remind`, {});
  }
  decide(itemId: string, decision: 'certify' | 'revoke', note?: string) {
    return this.call<ReviewItemInfo>('POST', `/v1/reviews/items/${enc(itemId)}/decision`, { decision, ...(note === undefined ? {} : { note }) });
  }
  /** The campaign as CSV or JSON text. */
  async exportReview(id: string, format: 'csv' | 'json'): Promise<string> {
    return (await this.request('GET', `/v1/reviews/${enc(id)}/export`, undefined, { format })).text();
  }

  recommend(principal: string, days?: number) {
    return this.call<RecommendationInfo>('GET', `/v1/recommendations/${enc(principal)}`, undefined, { days });
  }
  applyRecommendation(principal: string, days?: number) {
    return this.call<RecommendationInfo>('POST', `/v1/recommendations/${enc(principal)}/apply`, days === undefined ? {} : { days });
  }
}
