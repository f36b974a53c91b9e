import type { FastifyInstance } from 'fastify';
import type { S3Service } from '../s3/index.js';
import { MAX_CREDENTIAL_TTL_SECONDS, MIN_CREDENTIAL_TTL_SECONDS } from '../s3/index.js';
import { callerOf, type AuthenticatedRoutes } from './routes-v1.js';

/** REST routes of the S3 endpoint: temporary credentials for the caller (`/v1/s3/credentials`). */
export function s3Routes(s3: S3Service): AuthenticatedRoutes {
  return (app: FastifyInstance) => {
    app.post<{ Body: { ttlSeconds?: number; description?: string } }>(
      '/s3/credentials',
      {
        schema: {
          summary: 'Issue temporary S3 credentials (access key id, secret, session token; shown once, at most 1 hour)',
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ttlSeconds: { type: 'integer', minimum: MIN_CREDENTIAL_TTL_SECONDS, maximum: MAX_CREDENTIAL_TTL_SECONDS },
              description: { type: 'string', maxLength: 200 },
            },
          },
        },
      },
      async (request, reply) => reply.code(201).send(await s3.issueCredentials(callerOf(request), request.body ?? {})),
    );
    app.get('/s3/credentials', { schema: { summary: 'The S3 credentials of the caller (no secrets)' } }, async (request) => ({ items: await s3.listCredentials(callerOf(request)) }));
    app.delete<{ Params: { accessKeyId: string } }>(
      '/s3/credentials/:accessKeyId',
      { schema: { summary: 'Revoke S3 credentials', params: { type: 'object', required: ['accessKeyId'], properties: { accessKeyId: { type: 'string', pattern: '^[A-Z0-9]{8,64}$' } } } } },
      async (request, reply) => {
        await s3.revokeCredential(callerOf(request), request.params.accessKeyId);
        return reply.code(204).send();
      },
    );
  };
}
