import { Readable } from 'node:stream';

/** An error answer of the Coffer API, with its stable code. */
export class CofferApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'CofferApiError';
  }
}

export interface ClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:7070`. */
  baseUrl: string;
  token?: string | undefined;
  /** Sent as User-Agent. */
  userAgent?: string;
}

export interface ProjectInfo { id: string; name: string; description: string; createdBy: string; createdAt: string }
export interface ArtifactInfo { id: string; project: string; name: string; kind: string; tier: string; environment: string; owner: string; labels: Record<string, string>; createdAt: string }
export interface VersionInfo { id: string; project: string; artifact: string; number: number; sha256: string; size: number; mediaType: string; createdBy: string; createdAt: string; keyTerm: number }
export interface PrincipalInfo { id: string; kind: string; name: string; displayName: string; ownerId: string | null; disabled: boolean; createdAt: string }
export interface GrantInfo { id: string; principalId: string; role: string; scopeKind: string; scopeId: string; createdBy: string; createdAt: string; expiresAt: string | null }
export interface TokenInfo { id: string; hint: string; description: string; createdAt: string | null; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null; parentId?: string }
/** A credential of the lineage (session, API token, S3 key) with its parent. */
export interface CredentialInfo {
  id: string;
  kind: 'session' | 'api-token' | 's3-key';
  parent: { id: string; kind: string | null; principal: string | null } | null;
  origin: string;
  mfa: { methods: string[]; ageSeconds: number };
  current: boolean;
  active: boolean;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokeReason: string | null;
}
export interface VerifyInfo {
  ok: boolean;
  checked: number;
  firstBad?: { seq: number; reason: string };
  lastSeq: number;
  lastHash: string;
  /** What the witness outside the database vouches for (absent when the server keeps none). */
  witness?: { source: string; entries: number; newest: { seq: number; time: string; node: string } | null; fault: string | null };
  witnessedSeq?: number;
  unwitnessed?: number;
  checkpointedSeq?: number;
}
export interface CheckpointInfo { seq: number; hash: string; signature: string; publicKey?: string }
export interface PageOf<T> { items: T[]; next: string | null }

/** Where a download lands: the version facts and the body stream. */
export interface Download {
  version: { number: number; sha256: string; size: number; mediaType: string };
  /** Bytes in this response (the range length for partial content). */
  length: number;
  partial: boolean;
  body: Readable;
}

const enc = encodeURIComponent;

/**
 * Typed client of the Coffer REST API (the CLI and console use it). Bodies stream:
 * uploads are never buffered and downloads are handed over as a stream.
 */
/** A query string's values (undefined ones are left out). */
export type Query = Record<string, string | number | boolean | undefined>;

/** One call of the API: JSON body, query, whether to send the bearer token (default yes). */
export interface CallInput {
  body?: unknown;
  query?: Query;
  auth?: boolean;
  redirect?: 'follow' | 'manual' | 'error';
}

/**
 * Sends one request to the Coffer API (bearer token, user agent, JSON body) and returns
 * the response; an error answer becomes its CofferApiError. The one request path of
 * every feature client.
 */
export async function apiFetch(options: ClientOptions, method: string, path: string, input: CallInput = {}): Promise<Response> {
  const url = new URL(options.baseUrl.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(input.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const { body } = input;
  const res = await fetch(url, {
    method,
    ...(input.redirect ? { redirect: input.redirect } : {}),
    headers: {
      ...(input.auth !== false && options.token ? { authorization: `Bearer ${options.token}` } : {}),
      'user-agent': options.userAgent ?? 'coffer-client',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await toError(res);
  return res;
}

/** {@link apiFetch}, answering the JSON body (undefined for 204 No Content). */
export async function callApi<T>(options: ClientOptions, method: string, path: string, input: CallInput = {}): Promise<T> {
  const res = await apiFetch(options, method, path, input);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export class CofferClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      'user-agent': this.options.userAgent ?? 'coffer-client',
      ...extra,
    };
  }

  private call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    return callApi<T>(this.options, method, path, { body, query });
  }

  health() { return this.call<{ status: string }>('GET', '/v1/health'); }
  bootstrap(input: { setupToken: string; name: string; displayName?: string; password?: string }) { return this.call<{ principal: PrincipalInfo; token: string }>('POST', '/v1/bootstrap', input); }
  whoami() { return this.call<PrincipalInfo & { groups: string[]; grants: GrantInfo[] }>('GET', '/v1/whoami'); }

  createPrincipal(input: { kind: 'user' | 'service-account' | 'group'; name: string; displayName?: string; owner?: string }) { return this.call<PrincipalInfo>('POST', '/v1/principals', input); }
  listPrincipals(page: { limit?: number; cursor?: string } = {}) { return this.call<PageOf<PrincipalInfo>>('GET', '/v1/principals', undefined, page); }
  setDisabled(name: string, disabled: boolean) { return this.call<void>('POST', `/v1/principals/${enc(name)}/${disabled ? 'disable' : 'enable'}`); }
  addMember(group: string, member: string) { return this.call<void>('POST', `/v1/groups/${enc(group)}/members`, { member }); }
  createToken(input: { principal?: string; description?: string; ttlSeconds?: number } = {}) { return this.call<{ token: string; info: TokenInfo }>('POST', '/v1/tokens', input); }
  revokeToken(id: string) { return this.call<void>('DELETE', `/v1/tokens/${enc(id)}`); }
  listCredentials(principal?: string) { return this.call<{ items: CredentialInfo[] }>('GET', '/v1/tokens', undefined, principal === undefined ? {} : { principal }); }

  createProject(input: { name: string; description?: string }) { return this.call<ProjectInfo>('POST', '/v1/projects', input); }
  listProjects(page: { limit?: number; cursor?: string } = {}) { return this.call<PageOf<ProjectInfo>>('GET', '/v1/projects', undefined, page); }
  showProject(name: string) { return this.call<ProjectInfo>('GET', `/v1/projects/${enc(name)}`); }
  createArtifact(project: string, input: { name: string; kind: string; tier: string; environment: string; labels?: Record<string, string> }) {
    return this.call<ArtifactInfo>('POST', `/v1/projects/${enc(project)}/artifacts`, input);
  }
  listArtifacts(project: string, page: { limit?: number; cursor?: string } = {}) { return this.call<PageOf<ArtifactInfo>>('GET', `/v1/projects/${enc(project)}/artifacts`, undefined, page); }
  showArtifact(project: string, artifact: string) { return this.call<ArtifactInfo & { versions: VersionInfo[] }>('GET', `/v1/projects/${enc(project)}/artifacts/${enc(artifact)}`); }
  showVersion(project: string, artifact: string, version: string | number) { return this.call<VersionInfo>('GET', `/v1/projects/${enc(project)}/artifacts/${enc(artifact)}/versions/${enc(String(version))}`); }

  /** Uploads a new version from a stream of exactly `size` bytes (sha256 optional but recommended). */
  async push(project: string, artifact: string, body: Readable, options: { size: number; sha256?: string; mediaType?: string; signal?: AbortSignal }): Promise<VersionInfo> {
    const res = await fetch(`${this.base}/v1/projects/${enc(project)}/artifacts/${enc(artifact)}/versions`, {
      method: 'POST',
      headers: this.headers({
        'content-type': options.mediaType ?? 'application/octet-stream',
        'content-length': String(options.size),
        ...(options.sha256 ? { 'x-coffer-sha256': options.sha256 } : {}),
      }),
      body: Readable.toWeb(body),
      // required by fetch for a streamed request body
      duplex: 'half',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!res.ok) throw await toError(res);
    return (await res.json()) as VersionInfo;
  }

  /** Downloads a version (optionally a byte range `start`-`end`, inclusive). */
  async pull(project: string, artifact: string, version: string | number, options: { range?: { start: number; end?: number }; signal?: AbortSignal } = {}): Promise<Download> {
    const headers = this.headers(options.range ? { range: `bytes=${options.range.start}-${options.range.end ?? ''}` } : {});
    const res = await fetch(`${this.base}/v1/projects/${enc(project)}/artifacts/${enc(artifact)}/versions/${enc(String(version))}/content`, {
      headers,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!res.ok) throw await toError(res);
    if (res.body === null) throw new CofferApiError(res.status, 'COFFER_CLIENT_EMPTY_BODY', 'server sent no body');
    return {
      version: {
        number: Number(res.headers.get('x-coffer-version')),
        sha256: res.headers.get('x-coffer-sha256') ?? '',
        size: Number(res.headers.get('content-range')?.split('/')[1] ?? res.headers.get('content-length')),
        mediaType: res.headers.get('x-coffer-media-type') ?? 'application/octet-stream',
      },
      length: Number(res.headers.get('content-length')),
      partial: res.status === 206,
      body: Readable.fromWeb(res.body),
    };
  }

  createGrant(input: { principal: string; role: string; project: string; artifact?: string; version?: number; expiresAt?: string }) { return this.call<GrantInfo>('POST', '/v1/grants', input); }
  listGrants(scope: { project: string; artifact?: string; version?: number }) { return this.call<{ items: GrantInfo[] }>('GET', '/v1/grants', undefined, scope); }
  revokeGrant(id: string) { return this.call<void>('DELETE', `/v1/grants/${enc(id)}`); }

  rotateKeys() { return this.call<{ term: number; rewrapped: number }>('POST', '/v1/keys/rotate'); }
  rotateRootKey() { return this.call<{ provider: string; keyId: string; previousKeyId: string | null; destroyedPrevious: boolean }>('POST', '/v1/keys/rotate-root'); }
  verifyAudit(checkpoint?: CheckpointInfo) {
    return checkpoint ? this.call<VerifyInfo>('POST', '/v1/audit/verify', { checkpoint: { seq: checkpoint.seq, hash: checkpoint.hash, signature: checkpoint.signature } }) : this.call<VerifyInfo>('GET', '/v1/audit/verify');
  }
  checkpointAudit() { return this.call<CheckpointInfo>('POST', '/v1/audit/checkpoints'); }
  /** The audit log as a stream of JSON Lines. */
  async exportAudit(fromSeq = 1): Promise<Readable> {
    const res = await fetch(`${this.base}/v1/audit/export?fromSeq=${fromSeq}`, { headers: this.headers() });
    if (!res.ok) throw await toError(res);
    if (res.body === null) throw new CofferApiError(res.status, 'COFFER_CLIENT_EMPTY_BODY', 'server sent no body');
    return Readable.fromWeb(res.body);
  }
}

/** The catalog error of a failed response (`{error: {code, message, requestId}}`), or HTTP_<status>. */
export async function toError(res: Response): Promise<CofferApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || 'request failed';
  let requestId: string | undefined;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; requestId?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
    requestId = body.error?.requestId;
  } catch {
    // not a JSON error body: keep the status
  }
  return new CofferApiError(res.status, code, message, requestId);
}
