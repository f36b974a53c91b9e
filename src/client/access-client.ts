import { Readable } from 'node:stream';
import { CofferApiError, callApi, toError } from './coffer-client.js';
import type { ClientOptions, Query } from './coffer-client.js';

/** A request for elevated access as the API shows it. */
export interface AccessRequestInfo {
  id: string;
  kind: 'grant' | 'break-glass' | 'share' | 'promote' | 'gate-exception';
  state: string;
  requester: string | null;
  role: string | null;
  scopeKind: string;
  scope: string;
  tier: string | null;
  durationSeconds: number;
  justification: string;
  ticket: string | null;
  approvalsRequired: number;
  approvals: Array<{ approver: string | null; at: string | null; comment: string }>;
  createdAt: string | null;
  deadline: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  reason: string | null;
  grantId: string | null;
  endsAt: string | null;
  target: string | null;
  review: { status: 'open' | 'signed-off'; by: string | null; at: string | null; note: string | null } | null;
}

export interface ShareLinkInfo {
  id: string;
  hint: string;
  version: string;
  state: string;
  createdBy: string | null;
  createdAt: string | null;
  ttlSeconds: number;
  expiresAt: string | null;
  maxDownloads: number | null;
  downloads: number;
  cidrs: string[];
  requestId: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
}

export interface PromotionInfo {
  id: string;
  version: string;
  from: string;
  to: string;
  promotedBy: string | null;
  promotedAt: string | null;
  requestId: string | null;
  sha256: string;
  checks: string[];
}

/** A scope: a project, an artifact in it, or one version. */
export interface ScopeRef {
  project: string;
  artifact?: string;
  version?: number;
}

const enc = encodeURIComponent;

/**
 * Client of the access API (docs/access.md): requests and approvals, break-glass and
 * reviews, promotions, share links, and the share-link download (no token needed).
 */
export class AccessClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  private call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    return callApi<T>(this.options, method, path, { body, query });
  }

  requestAccess(input: ScopeRef & { role: string; durationSeconds: number; justification: string; ticket?: string }) {
    return this.call<AccessRequestInfo>('POST', '/v1/access/requests', input);
  }
  listRequests(query: { view?: 'mine' | 'to-approve' | 'all'; status?: string; kind?: string } = {}) {
    return this.call<{ items: AccessRequestInfo[] }>('GET', '/v1/access/requests', undefined, query);
  }
  showRequest(id: string) {
    return this.call<AccessRequestInfo>('GET', `/v1/access/requests/${enc(id)}`);
  }
  approve(id: string, comment?: string) {
    return this.call<AccessRequestInfo>('POST', `/v1/access/requests/${enc(id)}/approve`, comment === undefined ? {} : { comment });
  }
  deny(id: string, reason: string) {
    return this.call<AccessRequestInfo>('POST', `/v1/access/requests/${enc(id)}/deny`, { reason });
  }
  revoke(id: string, reason?: string) {
    return this.call<AccessRequestInfo>('POST', `/v1/access/requests/${enc(id)}/revoke`, reason === undefined ? {} : { reason });
  }

  breakGlass(input: ScopeRef & { role: string; durationSeconds: number; reason: string; ticket?: string }) {
    return this.call<AccessRequestInfo & { alert: 'sent' | 'failed' | 'retrying' | 'disabled' }>('POST', '/v1/breakglass', input);
  }
  listReviews(all = false) {
    return this.call<{ items: AccessRequestInfo[] }>('GET', '/v1/breakglass/reviews', undefined, all ? { all: true } : {});
  }
  signOff(id: string, note: string) {
    return this.call<AccessRequestInfo>('POST', `/v1/breakglass/reviews/${enc(id)}/signoff`, { note });
  }

  promote(input: { project: string; artifact: string; version: number; to: 'staging' | 'prod'; justification?: string }) {
    return this.call<{ status: 'promoted'; promotion: PromotionInfo } | { status: 'pending-approval'; request: AccessRequestInfo }>('POST', '/v1/promotions', input);
  }
  listPromotions(project: string, artifact: string) {
    return this.call<{ items: PromotionInfo[] }>('GET', '/v1/promotions', undefined, { project, artifact });
  }

  createShareLink(input: { project: string; artifact: string; version: number; ttlSeconds?: number; maxDownloads?: number; cidrs?: string[]; justification?: string }) {
    return this.call<{ link: ShareLinkInfo; token: string; path: string }>('POST', '/v1/share-links', input);
  }
  listShareLinks(scope: Partial<ScopeRef> = {}) {
    return this.call<{ items: ShareLinkInfo[] }>('GET', '/v1/share-links', undefined, scope);
  }
  revokeShareLink(id: string) {
    return this.call<ShareLinkInfo>('DELETE', `/v1/share-links/${enc(id)}`);
  }

  /** Downloads through a share link URL (or its `/v1/share/...` path on this server); no credential is sent. */
  async fetchShared(link: string): Promise<{ status: number; sha256: string; body: Readable }> {
    const url = /^https?:\/\//.test(link) ? link : this.base + link;
    const res = await fetch(url, { headers: { 'user-agent': this.options.userAgent ?? 'coffer-client' } });
    if (!res.ok) throw await toError(res);
    if (res.body === null) throw new CofferApiError(res.status, 'COFFER_CLIENT_EMPTY_BODY', 'server sent no body');
    return { status: res.status, sha256: res.headers.get('x-coffer-sha256') ?? '', body: Readable.fromWeb(res.body) };
  }
}
