import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCofferError } from '../domain/errors.js';
import { SCIM } from '../identity/scim-protocol.js';
import type { ScimService } from '../service/identity/scim.js';
import { bearerOf, metaOf } from './app.js';
import { statusOf } from './error-handler.js';
import { noteRefusal } from './audit-outcome.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const listQuery = {
  type: 'object',
  properties: { filter: { type: 'string', maxLength: 1024 }, startIndex: { type: 'integer', minimum: 1 }, count: { type: 'integer', minimum: 0, maximum: 1000 }, attributes: { type: 'string', maxLength: 512 }, excludedAttributes: { type: 'string', maxLength: 512 } },
} as const;
/** SCIM resources are open-ended (extensions, IdP-specific attributes): bounded in size, validated by the service. */
const resource = { type: 'object', maxProperties: 64 } as const;

/**
 * SCIM 2.0 under /scim/v2 for identity providers (Okta, Azure AD/Entra, ...): Users and
 * Groups with `eq` filters, PUT and PATCH as IdPs send them, DELETE. Bearer-protected by
 * a SCIM token; errors in SCIM's own format. Media type `application/scim+json`.
 */
export function scimRoutes(scim: ScimService) {
  return (app: FastifyInstance): void => {
    void app.register(
      async (s: FastifyInstance) => {
        s.addContentTypeParser('application/scim+json', { parseAs: 'string' }, (_request, body, done) => {
          try {
            done(null, String(body).trim() === '' ? undefined : (JSON.parse(String(body)) as unknown));
          } catch (err) {
            (err as { statusCode?: number }).statusCode = 400;
            done(err as Error, undefined);
          }
        });
        s.setErrorHandler((err, request, reply) => scimError(err as Error, request, reply));
        s.addHook('onSend', async (_request, reply, payload) => {
          if (String(reply.getHeader('content-type') ?? '').startsWith('application/json')) void reply.header('content-type', 'application/scim+json; charset=utf-8');
          return payload;
        });
        const actorOf = (request: FastifyRequest) => scim.authenticate(bearerOf(request), metaOf(request));
        const base = (request: FastifyRequest) => `${request.protocol}://${request.host}/scim/v2`;

        s.get('/ServiceProviderConfig', async (request) => {
          await actorOf(request);
          return {
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
            patch: { supported: true },
            bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
            filter: { supported: true, maxResults: 200 },
            changePassword: { supported: false },
            sort: { supported: false },
            etag: { supported: false },
            authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'A Coffer SCIM token (coffer_scim_...)', primary: true }],
          };
        });

        for (const [plural, type] of [['Users', 'User'], ['Groups', 'Group']] as const) {
          s.get<{ Querystring: { filter?: string; startIndex?: number; count?: number } }>(`/${plural}`, { schema: { querystring: listQuery } }, async (request) => {
            await actorOf(request);
            return type === 'User' ? scim.listUsers(request.query, base(request)) : scim.listGroups(request.query, base(request));
          });
          s.get<{ Params: { id: string } }>(`/${plural}/:id`, { schema: { params: idParams } }, async (request) => {
            await actorOf(request);
            return type === 'User' ? scim.getUser(request.params.id, base(request)) : scim.getGroup(request.params.id, base(request));
          });
          s.post<{ Body: Record<string, unknown> }>(`/${plural}`, { schema: { body: resource } }, async (request, reply) => {
            const actor = await actorOf(request);
            const created = type === 'User' ? await scim.createUser(actor, metaOf(request), request.body, base(request)) : await scim.createGroup(actor, metaOf(request), request.body, base(request));
            return reply.code(201).header('location', (created.meta as { location: string }).location).send(created);
          });
          s.put<{ Params: { id: string }; Body: Record<string, unknown> }>(`/${plural}/:id`, { schema: { params: idParams, body: resource } }, async (request) => {
            const actor = await actorOf(request);
            return type === 'User' ? scim.replaceUser(actor, metaOf(request), request.params.id, request.body, base(request)) : scim.replaceGroup(actor, metaOf(request), request.params.id, request.body, base(request));
          });
          s.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(`/${plural}/:id`, { schema: { params: idParams, body: resource } }, async (request) => {
            const actor = await actorOf(request);
            return type === 'User' ? scim.patchUser(actor, metaOf(request), request.params.id, request.body, base(request)) : scim.patchGroup(actor, metaOf(request), request.params.id, request.body, base(request));
          });
          s.delete<{ Params: { id: string } }>(`/${plural}/:id`, { schema: { params: idParams } }, async (request, reply) => {
            const actor = await actorOf(request);
            await (type === 'User' ? scim.deleteUser(actor, metaOf(request), request.params.id) : scim.deleteGroup(actor, metaOf(request), request.params.id));
            return reply.code(204).send();
          });
        }
      },
      { prefix: '/scim/v2' },
    );
  };
}

/** SCIM error body (RFC 7644 §3.12) from a catalog code; 5xx details stay in the log. */
function scimError(err: Error & { validation?: unknown; statusCode?: number }, request: FastifyRequest, reply: FastifyReply): void {
  let status: number;
  let detail: string;
  let scimType: string | undefined;
  if (isCofferError(err)) {
    status = statusOf(err.code);
    detail = status >= 500 ? 'internal error' : err.message;
    scimType = err.detail?.startsWith('scim:') ? err.detail.slice(5) : err.code === 'COFFER_ALREADY_EXISTS' ? 'uniqueness' : undefined;
  } else if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode < 500)) {
    status = 400;
    detail = 'request is not valid';
    scimType = 'invalidSyntax';
  } else {
    status = 500;
    detail = 'internal error';
  }
  noteRefusal(request, isCofferError(err) ? err.code : status >= 500 ? 'COFFER_INTERNAL' : 'COFFER_VALIDATION_FAILED');
  if (status >= 500) request.log.error({ err }, 'scim request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="coffer-scim"');
  void reply
    .code(status)
    .type('application/scim+json; charset=utf-8')
    .send({ schemas: [SCIM.error], status: String(status), detail, ...(scimType !== undefined ? { scimType } : {}) });
}
