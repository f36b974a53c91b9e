import { MAX_ARTIFACT_NAME_LENGTH } from '../domain/artifact-names.js';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ARTIFACT_KINDS, ENVIRONMENTS, PRINCIPAL_KINDS, ROLES, TIERS } from '../domain/types.js';
import type { ArtifactKind, Environment, PrincipalKind, Role, Tier } from '../domain/types.js';
import { ContentLengthMismatchError, ValidationError } from '../domain/errors.js';
import type { Caller, CofferService } from '../service/index.js';
import { bearerOf, metaOf } from './app.js';
import type { ServerMetrics } from './metrics.js';
import { parseRange } from './range.js';
import { abortOnDisconnect } from './disconnect.js';
import { RequestBody } from './request-body.js';
import { guard } from '../streams/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/**
 * A feature's routes, registered inside the authenticated /v1 scope: every request
 * reaching them has a Caller (`callerOf(request)`).
 */
export type AuthenticatedRoutes = (app: FastifyInstance) => void;

interface Options {
  service: CofferService;
  metrics: ServerMetrics;
  /** Routes of feature modules (access, monitoring...), authenticated like the core. */
  extensions?: AuthenticatedRoutes[];
}

const name = { type: 'string', minLength: 1, maxLength: 63 } as const;
const artifactName = { type: 'string', minLength: 1, maxLength: MAX_ARTIFACT_NAME_LENGTH } as const;
const page = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 }, cursor: { type: 'string', maxLength: 512 } },
} as const;
const projectParams = { type: 'object', required: ['project'], properties: { project: name } } as const;
const artifactParams = { type: 'object', required: ['project', 'artifact'], properties: { project: name, artifact: artifactName } } as const;
const versionParams = {
  type: 'object',
  required: ['project', 'artifact', 'version'],
  properties: { project: name, artifact: artifactName, version: { type: 'string', pattern: '^(latest|[1-9][0-9]{0,9})$' } },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const obj = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties }) as const;

/** The caller of an authenticated route (set by the preHandler). */
export function callerOf(request: FastifyRequest): Caller {
  // INVARIANT: every route in the authenticated scope has passed the preHandler
  if (request.caller === null) throw new Error('unauthenticated request reached an authenticated route');
  return request.caller;
}

function pageOf(q: { limit?: number; cursor?: string }) {
  return { ...(q.limit !== undefined ? { limit: q.limit } : {}), cursor: q.cursor ?? null };
}

/** REST API v1. Every route but bootstrap authenticates first; use cases do the rest. */
export const v1Routes: FastifyPluginAsync<Options> = async (app, { service, metrics, extensions }) => {
  app.post<{ Body: { setupToken: string; name: string; displayName?: string; password?: string } }>(
    '/bootstrap',
    { schema: { summary: 'Create the first admin with the one-time setup token (and its first password)', security: [], body: obj(['setupToken', 'name'], { setupToken: { type: 'string', maxLength: 200 }, name, displayName: { type: 'string', maxLength: 200 }, password: { type: 'string', minLength: 1, maxLength: 512 } }) } },
    async (request, reply) => reply.code(201).send(await service.bootstrap(metaOf(request), request.body)),
  );

  await app.register(async (auth: FastifyInstance) => {
    // INVARIANT: authentication runs first (onRequest), before the body is read and before
    // schema validation: an unauthenticated caller learns nothing about a route's input
    auth.addHook('onRequest', async (request) => {
      request.caller = await service.authenticate(bearerOf(request), metaOf(request));
    });
    registerAuthenticated(auth, service, metrics);
    for (const register of extensions ?? []) register(auth);
  });
};

function registerAuthenticated(app: FastifyInstance, service: CofferService, metrics: ServerMetrics): void {
  app.get('/whoami', { schema: { summary: 'The authenticated principal' } }, async (request) => await service.whoami(callerOf(request)));

  // ---- principals and tokens ----
  app.post<{ Body: { kind: PrincipalKind; name: string; displayName?: string; owner?: string } }>(
    '/principals',
    { schema: { summary: 'Create a user, service account or group', body: obj(['kind', 'name'], { kind: { enum: [...PRINCIPAL_KINDS] }, name, displayName: { type: 'string', maxLength: 200 }, owner: name }) } },
    async (request, reply) => reply.code(201).send(await service.createPrincipal(callerOf(request), request.body)),
  );
  app.get<{ Querystring: { limit?: number; cursor?: string } }>('/principals', { schema: { summary: 'List principals', querystring: page } }, async (request) =>
    service.listPrincipals(callerOf(request), pageOf(request.query)),
  );
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post<{ Params: { name: string } }>(`/principals/:name/${verb}`, { schema: { summary: `${verb} a principal`, params: { type: 'object', required: ['name'], properties: { name } } } }, async (request, reply) => {
      await service.setDisabled(callerOf(request), request.params.name, disabled);
      return reply.code(204).send();
    });
  }
  app.post<{ Params: { group: string }; Body: { member: string } }>(
    '/groups/:group/members',
    { schema: { summary: 'Add a member to a group', params: { type: 'object', required: ['group'], properties: { group: name } }, body: obj(['member'], { member: name }) } },
    async (request, reply) => {
      await service.addMember(callerOf(request), request.params.group, request.body.member);
      return reply.code(204).send();
    },
  );
  app.post<{ Body: { principal?: string; description?: string; ttlSeconds?: number } }>(
    '/tokens',
    { schema: { summary: 'Issue an API token (shown once)', body: obj([], { principal: name, description: { type: 'string', maxLength: 200 }, ttlSeconds: { type: 'integer', minimum: 1 } }) } },
    async (request, reply) => reply.code(201).send(await service.createToken(callerOf(request), request.body)),
  );
  app.get<{ Querystring: { principal?: string } }>(
    '/tokens',
    { schema: { summary: "Credentials (sessions, API tokens, S3 keys) of the caller or of a principal, each with its parent", querystring: { type: 'object', additionalProperties: false, properties: { principal: name } } } },
    async (request) => ({ items: await service.listCredentials(callerOf(request), request.query.principal) }),
  );
  app.delete<{ Params: { id: string } }>('/tokens/:id', { schema: { summary: 'Revoke a credential and everything minted from it', params: idParams } }, async (request, reply) => {
    await service.revokeToken(callerOf(request), request.params.id);
    return reply.code(204).send();
  });

  // ---- catalog ----
  app.post<{ Body: { name: string; description?: string } }>(
    '/projects',
    { schema: { summary: 'Create a project', body: obj(['name'], { name, description: { type: 'string', maxLength: 2000 } }) } },
    async (request, reply) => reply.code(201).send(await service.createProject(callerOf(request), request.body)),
  );
  app.get<{ Querystring: { limit?: number; cursor?: string } }>('/projects', { schema: { summary: 'Projects the caller may see', querystring: page } }, async (request) =>
    service.listProjects(callerOf(request), pageOf(request.query)),
  );
  app.get<{ Params: { project: string } }>('/projects/:project', { schema: { summary: 'Show a project', params: projectParams } }, async (request) =>
    service.showProject(callerOf(request), request.params.project),
  );
  app.post<{ Params: { project: string }; Body: { name: string; kind: ArtifactKind; tier: Tier; environment: Environment; labels?: Record<string, string> } }>(
    '/projects/:project/artifacts',
    {
      schema: {
        summary: 'Create an artifact',
        params: projectParams,
        body: obj(['name', 'kind', 'tier', 'environment'], {
          name: artifactName,
          kind: { enum: [...ARTIFACT_KINDS] },
          tier: { enum: [...TIERS] },
          environment: { enum: [...ENVIRONMENTS] },
          labels: { type: 'object', maxProperties: 64, propertyNames: { pattern: '^[A-Za-z0-9._/-]{1,63}$' }, additionalProperties: { type: 'string', maxLength: 256 } },
        }),
      },
    },
    async (request, reply) => reply.code(201).send(await service.createArtifact(callerOf(request), { project: request.params.project, ...request.body })),
  );
  app.get<{ Params: { project: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/projects/:project/artifacts',
    { schema: { summary: 'Artifacts of a project the caller may see', params: projectParams, querystring: page } },
    async (request) => service.listArtifacts(callerOf(request), request.params.project, pageOf(request.query)),
  );
  app.get<{ Params: { project: string; artifact: string } }>('/projects/:project/artifacts/:artifact', { schema: { summary: 'Show an artifact and its visible versions', params: artifactParams } }, async (request) =>
    service.showArtifact(callerOf(request), request.params.project, request.params.artifact),
  );

  // uploads: the body is streamed, never buffered; only this scope accepts raw bodies
  void app.register(async (raw: FastifyInstance) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, _payload, done) => done(null));
    raw.post<{ Params: { project: string; artifact: string } }>(
      '/projects/:project/artifacts/:artifact/versions',
      {
        schema: {
          summary: 'Upload a new immutable version (streamed body)',
          params: artifactParams,
          headers: { type: 'object', properties: { 'x-coffer-sha256': { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
        },
      },
      async (request, reply) => {
        const lengthHeader = request.headers['content-length'];
        if (request.headers['transfer-encoding'] === undefined && lengthHeader === undefined) throw new ValidationError('content-length or chunked transfer encoding is required');
        const size = lengthHeader === undefined ? undefined : Number(lengthHeader);
        if (size !== undefined && !Number.isSafeInteger(size)) throw new ContentLengthMismatchError('content-length is not valid');
        // INVARIANT: the body is owned by one RequestBody from here to the answer: its errors are
        // handled whatever the service does with it, so a client hanging up cannot end the process
        const body = new RequestBody(request.raw, reply.raw);
        try {
          const sha = request.headers['x-coffer-sha256'];
          const version = await service.pushVersion(callerOf(request), {
            project: request.params.project,
            artifact: request.params.artifact,
            body: body.stream,
            size,
            sha256: typeof sha === 'string' ? sha : undefined,
            mediaType: typeof request.headers['content-type'] === 'string' ? request.headers['content-type'].slice(0, 200) : 'application/octet-stream',
            signal: body.signal,
          });
          metrics.bytes.inc({ direction: 'in' }, version.size);
          return reply.code(201).send(version);
        } catch (err) {
          // Refused before or half-way (unknown artifact, disk full, digest mismatch...): read and
          // discard the rest of a modest body first, so the client finishes sending and then reads
          // our answer instead of a connection reset. A larger rest is cut (the error handler closes).
          await body.settle();
          throw err;
        } finally {
          body.dispose();
        }
      },
    );
  });

  app.get<{ Params: { project: string; artifact: string; version: string } }>(
    '/projects/:project/artifacts/:artifact/versions/:version',
    { schema: { summary: 'Show a version', params: versionParams } },
    async (request) => service.showVersion(callerOf(request), request.params.project, request.params.artifact, request.params.version),
  );
  app.get<{ Params: { project: string; artifact: string; version: string } }>(
    '/projects/:project/artifacts/:artifact/versions/:version/content',
    { schema: { summary: 'Download a version (HTTP Range supported)', params: versionParams } },
    async (request, reply) => {
      const range = parseRange(request.headers.range);
      const controller = abortOnDisconnect(request.raw, reply.raw);
      const result = await service.pullVersion(callerOf(request), { ...request.params, range, signal: controller.signal });
      const v = result.version;
      const length = result.range ? result.range.end - result.range.start + 1 : v.size;
      result.body.once('end', () => metrics.bytes.inc({ direction: 'out' }, length));
      void reply
        .header('content-type', 'application/octet-stream')
        .header('x-coffer-media-type', v.mediaType)
        .header('x-coffer-sha256', v.sha256)
        .header('x-coffer-version', String(v.number))
        .header('etag', `"sha256:${v.sha256}"`)
        .header('accept-ranges', 'bytes');
      if (result.range) {
        void reply
          .code(206)
          .header('content-range', `bytes ${result.range.start}-${result.range.end}/${v.size}`)
          .header('content-length', String(result.range.end - result.range.start + 1));
      } else {
        void reply.header('content-length', String(v.size));
      }
      return reply.send(result.body);
    },
  );

  // ---- grants ----
  app.post<{ Body: { principal: string; role: Role; project: string; artifact?: string; version?: number; expiresAt?: string } }>(
    '/grants',
    {
      schema: {
        summary: 'Grant a role on a project, artifact or single version',
        body: obj(['principal', 'role', 'project'], { principal: name, role: { enum: [...ROLES] }, project: name, artifact: artifactName, version: { type: 'integer', minimum: 1 }, expiresAt: { type: 'string', format: 'date-time' } }),
      },
    },
    async (request, reply) => {
      const { version, artifact, expiresAt, ...rest } = request.body;
      if (version !== undefined && artifact === undefined) throw new ValidationError('a version grant needs an artifact');
      return reply.code(201).send(await service.createGrant(callerOf(request), { ...rest, artifact, version, expiresAt: expiresAt === undefined ? undefined : Date.parse(expiresAt) }));
    },
  );
  app.get<{ Querystring: { project: string; artifact?: string; version?: number } }>(
    '/grants',
    { schema: { summary: 'Grants on a scope', querystring: obj(['project'], { project: name, artifact: artifactName, version: { type: 'integer', minimum: 1 } }) } },
    async (request) => ({ items: await service.listGrants(callerOf(request), request.query) }),
  );
  app.delete<{ Params: { id: string } }>('/grants/:id', { schema: { summary: 'Revoke a grant', params: idParams } }, async (request, reply) => {
    await service.revokeGrant(callerOf(request), request.params.id);
    return reply.code(204).send();
  });

  // ---- keys and audit ----
  app.post('/keys/rotate', { schema: { summary: 'Add a key term and rewrap every data key' } }, async (request) => service.rotateKeys(callerOf(request)));
  app.post('/keys/rotate-root', { schema: { summary: 'Rotate the root key that seals the keyring (rewraps the keyring only)' } }, async (request) => service.rotateRootKey(callerOf(request)));
  app.get('/audit/verify', { schema: { summary: 'Verify the audit hash chain' } }, async (request) => service.verifyAudit(callerOf(request)));
  const checkpointSchema = obj(['seq', 'hash', 'signature'], { seq: { type: 'integer', minimum: 1 }, hash: { type: 'string', pattern: '^[0-9a-f]{64}$' }, signature: { type: 'string', pattern: '^[0-9a-f]{128}$' } });
  app.post<{ Body: { checkpoint?: { seq: number; hash: string; signature: string } } }>(
    '/audit/verify',
    { schema: { summary: 'Verify the audit hash chain against an exported checkpoint', body: obj([], { checkpoint: checkpointSchema }) } },
    async (request) => service.verifyAudit(callerOf(request), request.body.checkpoint),
  );
  app.post('/audit/checkpoints', { schema: { summary: 'Sign a checkpoint of the current audit tail (keep it outside Coffer)' } }, async (request, reply) =>
    reply.code(201).send(await service.checkpointAudit(callerOf(request))),
  );
  app.get<{ Querystring: { fromSeq?: number } }>(
    '/audit/export',
    { schema: { summary: 'Export the audit log as JSON Lines', querystring: obj([], { fromSeq: { type: 'integer', minimum: 1 } }) } },
    async (request, reply) => {
      const lines = await service.exportAudit(callerOf(request), request.query.fromSeq ?? 1);
      // each line carries its own newline; guarded like every response body (a client gone mid-export)
      return reply.type('application/x-ndjson').send(guard(Readable.from(lines)));
    },
  );
}
