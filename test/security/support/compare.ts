/**
 * Compares the answers of the two worlds: status, body and headers, apart from what
 * differs between any two requests (request ids, dates, S3 host ids).
 */
import type { LightMyRequestResponse } from 'fastify';

/** Headers that differ between any two requests. */
const VOLATILE = new Set(['date', 'x-request-id', 'x-amz-request-id', 'x-amz-id-2', 'content-length', 'keep-alive', 'connection', 'retry-after']);

/** An answer reduced to what must be identical. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The comparable form of an answer; `normalize` maps per-world ids of shared fixtures to labels. */
export function answerOf(r: LightMyRequestResponse, normalize: (s: string) => string): Answer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) {
    if (VOLATILE.has(name) || value === undefined) continue;
    headers[name] = normalize(Array.isArray(value) ? value.join(',') : String(value));
  }
  let body = r.body;
  if ((r.headers['content-type'] ?? '').toString().includes('json')) {
    try {
      const o = JSON.parse(body) as { error?: { requestId?: string } };
      if (o.error !== undefined) delete o.error.requestId;
      body = JSON.stringify(o);
    } catch {
      // not JSON after all: compared as text
    }
  }
  body = body.replace(/<RequestId>[^<]*<\/RequestId>/g, '<RequestId/>');
  return { status: r.statusCode, headers, body: normalize(body) };
}

/** The error code of an answer (JSON `error.code`, SCIM `detail`, or S3 `<Code>`), or null. */
export function codeOf(a: Answer): string | null {
  const xml = /<Code>([^<]*)<\/Code>/.exec(a.body);
  if (xml) return xml[1]!;
  try {
    const o = JSON.parse(a.body) as { error?: { code?: string } };
    return o.error?.code ?? null;
  } catch {
    return null;
  }
}
