/** The facts of a failed AWS SDK call that are safe to log: error code, HTTP status, request id. */
export interface SdkFailure {
  code: string;
  status: number | undefined;
  requestId: string | undefined;
}

/**
 * Reads the loggable facts of an error thrown by an AWS SDK client (a service exception
 * or a network error). Only the code, status and request id are kept, and only when they
 * look like codes and ids: never the message, the request or the response, which can
 * name an access key or echo request headers.
 */
export function sdkFailure(err: unknown): SdkFailure {
  if (typeof err !== 'object' || err === null) return { code: 'Unknown', status: undefined, requestId: undefined };
  const e = err as { name?: unknown; Code?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown; requestId?: unknown } };
  const code = [e.Code, e.name, e.code].find((c): c is string => typeof c === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(c) && c !== 'Error') ?? 'Unknown';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const requestId = typeof e.$metadata?.requestId === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(e.$metadata.requestId) ? e.$metadata.requestId : undefined;
  return { code, status, requestId };
}

/** `Code (HTTP 403) request abc`: a failure in one line, for an error's detail. */
export function describeSdkFailure(f: SdkFailure): string {
  return `${f.code}${f.status === undefined ? '' : ` (HTTP ${f.status})`}${f.requestId === undefined ? '' : ` request ${f.requestId}`}`;
}
