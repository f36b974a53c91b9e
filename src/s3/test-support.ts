import { Readable } from 'node:stream';
import type { S3HttpRequest } from './s3-http.js';

/** A framework-free S3 request for unit tests. */
export function fakeRequest(input: { method?: string; path: string; query?: string; headers: Record<string, string>; body?: Buffer }): S3HttpRequest {
  return {
    method: input.method ?? 'GET',
    rawPath: input.path,
    rawQuery: input.query ?? '',
    headers: input.headers,
    body: Readable.from(input.body ? [input.body] : []),
    meta: { requestId: 'test', sourceIp: '127.0.0.1', userAgent: 'test' },
    signal: new AbortController().signal,
  };
}
