import type { FastifyInstance } from 'fastify';
import type { GateService } from '../service/scan/gate-service.js';
import { callerOf } from './routes-v1.js';
import type { AuthenticatedRoutes } from './routes-v1.js';

const name = { type: 'string', minLength: 1, maxLength: 63 } as const;
const artifactName = { type: 'string', minLength: 1, maxLength: 512 } as const;
const versionNumber = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
const obj = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties }) as const;

/**
 * REST routes of the artifact gate (docs/gate.md), in the authenticated /v1 scope: a
 * version's scan verdict and report, and gate exceptions (access requests of kind
 * `gate-exception`, approved with POST /v1/access/requests/{id}/approve).
 */
export function gateRoutes(gate: GateService): AuthenticatedRoutes {
  return (app: FastifyInstance) => {
    app.get<{ Querystring: { project: string; artifact: string; version: number } }>(
      '/gate/scans',
      {
        schema: {
          summary: "A version's artifact-gate verdict and report (counts and locations, never values)",
          querystring: obj(['project', 'artifact', 'version'], { project: name, artifact: artifactName, version: versionNumber }),
        },
      },
      async (request) => gate.showScan(callerOf(request), request.query),
    );
    app.post<{ Body: { project: string; artifact: string; version: number; justification: string } }>(
      '/gate/exceptions',
      {
        schema: {
          summary: "Ask for an exception to the artifact gate's block on a version (approved by others, four eyes)",
          body: obj(['project', 'artifact', 'version', 'justification'], { project: name, artifact: artifactName, version: versionNumber, justification: { type: 'string', maxLength: 2000 } }),
        },
      },
      async (request, reply) => reply.code(201).send(await gate.requestException(callerOf(request), request.body)),
    );
  };
}
