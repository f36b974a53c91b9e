import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessService } from '../service/access/index.js';
import { metaOf } from './app.js';
import type { PublicRoutes } from './app.js';
import { parseRange } from './range.js';
import { abortOnDisconnect } from './disconnect.js';

/** The share-link download route. Its path carries the link secret. */
export const SHARE_ROUTE = '/v1/share/:token';

/**
 * `GET /v1/share/:token`: downloads the version a share link points to (HTTP Range
 * supported). No bearer token: the secret in the path is the credential, checked by the
 * service (format, hash, status, expiry, limit, network, creator's right) before any
 * byte. Registered outside the authenticated scope (AppDeps.publicRoutes); the request
 * logger shows the route pattern, never the URL (see {@link logUrl}).
 */
export function shareLinkRoutes(access: AccessService): PublicRoutes {
  return (app: FastifyInstance) => {
    app.get<{ Params: { token: string } }>(
      SHARE_ROUTE,
      {
        schema: {
          summary: 'Download through a share link (HTTP Range supported; no authentication: the link is the credential)',
          security: [],
          params: { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 128 } } },
        },
      },
      async (request, reply) => {
        const range = parseRange(request.headers.range);
        const controller = abortOnDisconnect(request.raw, reply.raw);
        const result = await access.downloadShared(request.params.token, metaOf(request), { range, signal: controller.signal });
        const v = result.version;
        void reply
          .header('content-type', 'application/octet-stream')
          .header('x-coffer-media-type', v.mediaType)
          .header('x-coffer-sha256', v.sha256)
          .header('x-coffer-version', String(v.number))
          .header('etag', `"sha256:${v.sha256}"`)
          .header('accept-ranges', 'bytes')
          // the URL is the secret: never hand it on as a referrer
          .header('referrer-policy', 'no-referrer');
        if (result.range) {
          void reply.code(206).header('content-range', `bytes ${result.range.start}-${result.range.end}/${v.size}`).header('content-length', String(result.range.end - result.range.start + 1));
        } else {
          void reply.header('content-length', String(v.size));
        }
        return reply.send(result.body);
      },
    );
  };
}

/**
 * The URL of a request as logs may show it: the share route by its pattern; any other
 * URL under `/v1/share/` (a mistyped link) cut after that prefix; anything shaped like
 * a Coffer token replaced by `[redacted]`.
 */
export function logUrl(request: Pick<FastifyRequest, 'url'> & { routeOptions?: { url?: string | undefined } }): string {
  if (request.routeOptions?.url === SHARE_ROUTE) return SHARE_ROUTE;
  return redactUrl(request.url);
}

/** See {@link logUrl}. */
export function redactUrl(url: string): string {
  if (/^\/+v1\/+share(\/|%2f)/i.test(url)) return '/v1/share/[redacted]';
  return url.replace(/coffer_[a-z]+_[0-9A-Za-z]+/gi, '[redacted]');
}
