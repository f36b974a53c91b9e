import { MAX_ARTIFACT_NAME_LENGTH } from '../domain/artifact-names.js';
import type { FastifyInstance } from 'fastify';
import { REQUEST_KINDS, REQUEST_STATUSES } from '../access/access-types.js';
import type { RequestKind, RequestStatus } from '../access/access-types.js';
import { ValidationError } from '../domain/errors.js';
import { ROLES } from '../domain/types.js';
import type { Role } from '../domain/types.js';
import type { AccessService } from '../service/access/index.js';
import type { RequestListKind } from '../service/access/index.js';
import { callerOf } from './routes-v1.js';
import type { AuthenticatedRoutes } from './routes-v1.js';

const name = { type: 'string', minLength: 1, maxLength: 63 } as const;
const artifactName = { type: 'string', minLength: 1, maxLength: MAX_ARTIFACT_NAME_LENGTH } as const;
const text = (max: number) => ({ type: 'string', maxLength: max }) as const;
const seconds = { type: 'integer', minimum: 1, maximum: 10 * 365 * 24 * 3600 } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const obj = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties }) as const;
const scopeProps = { project: name, artifact: artifactName, version: { type: 'integer', minimum: 1 } } as const;

interface ScopeBody {
  project: string;
  artifact?: string;
  version?: number;
}

function checkScope(body: ScopeBody): void {
  if (body.version !== undefined && body.artifact === undefined) throw new ValidationError('a version scope needs an artifact');
}

/**
 * REST routes of the access module (docs/access.md), in the authenticated /v1 scope:
 * access requests, break-glass and reviews, promotions, share links. The unauthenticated
 * share-link download is in share-links.ts.
 */
export function accessRoutes(access: AccessService): AuthenticatedRoutes {
  return (app: FastifyInstance) => {
    // ---- access requests ----
    app.post<{ Body: ScopeBody & { role: Role; durationSeconds: number; justification: string; ticket?: string } }>(
      '/access/requests',
      {
        schema: {
          summary: 'Request a role on a project, artifact or version for a while (granted at approval)',
          body: obj(['project', 'role', 'durationSeconds', 'justification'], { ...scopeProps, role: { enum: [...ROLES] }, durationSeconds: seconds, justification: text(2000), ticket: text(200) }),
        },
      },
      async (request, reply) => {
        checkScope(request.body);
        return reply.code(201).send(await access.requestAccess(callerOf(request), request.body));
      },
    );
    app.get<{ Querystring: { view?: RequestListKind; status?: RequestStatus; kind?: RequestKind; limit?: number } }>(
      '/access/requests',
      {
        schema: {
          summary: 'Access requests: mine, waiting for my approval, or all I may decide on',
          querystring: obj([], { view: { enum: ['mine', 'to-approve', 'all'] }, status: { enum: [...REQUEST_STATUSES] }, kind: { enum: [...REQUEST_KINDS] }, limit: { type: 'integer', minimum: 1, maximum: 1000 } }),
        },
      },
      async (request) => access.list(callerOf(request), { view: request.query.view ?? 'mine', status: request.query.status, kind: request.query.kind, limit: request.query.limit }),
    );
    app.get<{ Params: { id: string } }>('/access/requests/:id', { schema: { summary: 'Show an access request', params: idParams } }, async (request) => access.show(callerOf(request), request.params.id));
    app.post<{ Params: { id: string }; Body: { comment?: string } }>(
      '/access/requests/:id/approve',
      { schema: { summary: 'Approve an access request (never your own)', params: idParams, body: obj([], { comment: text(2000) }) } },
      async (request) => access.approve(callerOf(request), request.params.id, request.body?.comment),
    );
    app.post<{ Params: { id: string }; Body: { reason: string } }>(
      '/access/requests/:id/deny',
      { schema: { summary: 'Deny an access request', params: idParams, body: obj(['reason'], { reason: text(2000) }) } },
      async (request) => access.deny(callerOf(request), request.params.id, request.body.reason),
    );
    app.post<{ Params: { id: string }; Body: { reason?: string } }>(
      '/access/requests/:id/revoke',
      { schema: { summary: 'Cancel your pending request, or end an approved access early', params: idParams, body: obj([], { reason: text(2000) }) } },
      async (request) => access.revoke(callerOf(request), request.params.id, request.body?.reason),
    );

    // ---- break-glass ----
    app.post<{ Body: ScopeBody & { role: Role; durationSeconds: number; reason: string; ticket?: string } }>(
      '/breakglass',
      {
        schema: {
          summary: 'Emergency self-elevation: immediate, short, alerted, reviewed afterwards',
          body: obj(['project', 'role', 'durationSeconds', 'reason'], { ...scopeProps, role: { enum: [...ROLES] }, durationSeconds: seconds, reason: text(2000), ticket: text(200) }),
        },
      },
      async (request, reply) => {
        checkScope(request.body);
        return reply.code(201).send(await access.breakGlass(callerOf(request), request.body));
      },
    );
    app.get<{ Querystring: { all?: boolean } }>(
      '/breakglass/reviews',
      { schema: { summary: 'Break-glass reviews (open ones unless all=true)', querystring: obj([], { all: { type: 'boolean' } }) } },
      async (request) => access.listReviews(callerOf(request), { all: request.query.all }),
    );
    app.post<{ Params: { id: string }; Body: { note: string } }>(
      '/breakglass/reviews/:id/signoff',
      { schema: { summary: 'Sign off the review of a break-glass (never your own)', params: idParams, body: obj(['note'], { note: text(2000) }) } },
      async (request) => access.signOff(callerOf(request), request.params.id, request.body.note),
    );

    // ---- promotions ----
    app.post<{ Body: { project: string; artifact: string; version: number; to: 'staging' | 'prod'; justification?: string } }>(
      '/promotions',
      {
        schema: {
          summary: 'Promote a version to the next environment (201), or file the approval it needs (202)',
          body: obj(['project', 'artifact', 'version', 'to'], { project: name, artifact: artifactName, version: { type: 'integer', minimum: 1 }, to: { enum: ['staging', 'prod'] }, justification: text(2000) }),
        },
      },
      async (request, reply) => {
        const result = await access.promote(callerOf(request), request.body);
        return reply.code(result.status === 'promoted' ? 201 : 202).send(result);
      },
    );
    app.get<{ Querystring: { project: string; artifact: string } }>(
      '/promotions',
      { schema: { summary: 'Promotions of the versions of an artifact', querystring: obj(['project', 'artifact'], { project: name, artifact: artifactName }) } },
      async (request) => access.listPromotions(callerOf(request), request.query.project, request.query.artifact),
    );

    // ---- share links ----
    app.post<{ Body: { project: string; artifact: string; version: number; ttlSeconds?: number; maxDownloads?: number; cidrs?: string[]; justification?: string } }>(
      '/share-links',
      {
        schema: {
          summary: 'Create a read-only, time-limited, revocable link to one version (secret shown once)',
          body: obj(['project', 'artifact', 'version'], {
            project: name,
            artifact: artifactName,
            version: { type: 'integer', minimum: 1 },
            ttlSeconds: seconds,
            maxDownloads: { type: 'integer', minimum: 1, maximum: 1_000_000 },
            cidrs: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 64 } },
            justification: text(2000),
          }),
        },
      },
      async (request, reply) => reply.code(201).send(await access.createShareLink(callerOf(request), request.body)),
    );
    app.get<{ Querystring: { project?: string; artifact?: string; version?: number } }>(
      '/share-links',
      { schema: { summary: 'Share links: mine, or all on a version I may approve on', querystring: obj([], scopeProps) } },
      async (request) => access.listShareLinks(callerOf(request), request.query),
    );
    app.delete<{ Params: { id: string } }>('/share-links/:id', { schema: { summary: 'Revoke a share link (effective at once)', params: idParams } }, async (request) =>
      access.revokeShareLink(callerOf(request), request.params.id),
    );
  };
}
