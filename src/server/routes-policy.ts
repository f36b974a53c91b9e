import type { FastifyInstance } from 'fastify';
import { ACTIONS, WEEKDAYS, type Action, type PolicySource } from '../policy/index.js';
import type { PolicyService, TargetInput, ExplainContextInput } from '../service/policy/index.js';
import { callerOf, type AuthenticatedRoutes } from './routes-v1.js';

const obj = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties }) as const;
const sources = {
  type: 'array',
  maxItems: 200,
  items: obj(['name', 'text'], { name: { type: 'string', minLength: 1, maxLength: 200 }, text: { type: 'string', maxLength: 1024 * 1024 } }),
} as const;
const version = { type: 'integer', minimum: 0, maximum: 2147483647 } as const;
const target = {
  oneOf: [
    { const: 'system' },
    obj(['project'], { project: { type: 'string', minLength: 1, maxLength: 63 }, artifact: { type: 'string', minLength: 1, maxLength: 512 }, version: { type: 'integer', minimum: 1, maximum: 9999999999 } }),
  ],
} as const;
const explainContext = obj([], {
  sourceIp: { type: 'string', minLength: 1, maxLength: 64 },
  time: { type: 'integer', minimum: 0, maximum: 253402300799999 },
  mfa: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 32 } },
  mfaAgeSeconds: { type: 'integer', minimum: 0, maximum: 9007199254740991 },
  deviceManaged: { type: 'boolean' },
  localHour: { type: 'integer', minimum: 0, maximum: 23 },
  localWeekday: { enum: [...WEEKDAYS] },
});

/**
 * Policy management routes (docs/policy.md): `/v1/policy/...` and `/v1/authz/explain`.
 * Every route is authenticated; the use cases authorize and audit.
 */
export function policyRoutes(service: PolicyService): AuthenticatedRoutes {
  return (app: FastifyInstance) => {
    app.get('/policy', { schema: { summary: 'The active policy set, stored versions and recent activations' } }, async (request) => service.list(callerOf(request)));
    app.get<{ Params: { version: number } }>(
      '/policy/versions/:version',
      { schema: { summary: 'A policy set version with its sources (0: the built-in set)', params: obj(['version'], { version }) } },
      async (request) => service.show(callerOf(request), request.params.version),
    );
    app.post<{ Body: { sources: PolicySource[] } }>(
      '/policy/validate',
      { schema: { summary: 'Validate custom policies strictly, as apply would', body: obj(['sources'], { sources }) } },
      async (request) => service.validate(callerOf(request), request.body.sources),
    );
    app.post<{ Body: { sources: PolicySource[] } }>(
      '/policy/format',
      { schema: { summary: "Lay out policies with Cedar's formatter", body: obj(['sources'], { sources }) } },
      async (request) => service.format(callerOf(request), request.body.sources),
    );
    app.post<{ Body: { sources?: PolicySource[]; tests: unknown[] } }>(
      '/policy/test',
      { schema: { summary: 'Run policy test cases against a draft or the active set', body: obj(['tests'], { sources, tests: { type: 'array', minItems: 1, maxItems: 10000, items: { type: 'object' } } }) } },
      async (request) => service.test(callerOf(request), { ...(request.body.sources ? { sources: request.body.sources } : {}), tests: request.body.tests }),
    );
    app.post<{ Body: { sources?: PolicySource[]; from?: number; to?: number } }>(
      '/policy/diff',
      { schema: { summary: 'Compare policy sets policy by policy', body: obj([], { sources, from: version, to: version }) } },
      async (request) => service.diff(callerOf(request), request.body),
    );
    app.post<{ Body: { sources: PolicySource[]; message?: string } }>(
      '/policy/apply',
      { schema: { summary: 'Store and activate a custom policy set (atomic, audited)', body: obj(['sources'], { sources, message: { type: 'string', maxLength: 500 } }) } },
      async (request) => service.apply(callerOf(request), request.body),
    );
    app.post<{ Body: { version?: number } }>(
      '/policy/rollback',
      { schema: { summary: 'Activate an earlier policy set version (default: the previous one)', body: obj([], { version }) } },
      async (request) => service.rollback(callerOf(request), request.body ?? {}),
    );
    app.post<{ Body: { sources: PolicySource[]; days: number } }>(
      '/policy/impact',
      { schema: { summary: 'Decisions of the last N days a draft policy set would change', body: obj(['sources', 'days'], { sources, days: { type: 'integer', minimum: 1, maximum: 366 } }) } },
      async (request) => service.impact(callerOf(request), request.body),
    );
    app.post<{ Body: { principal: string; action: Action; resource: TargetInput; context?: ExplainContextInput } }>(
      '/authz/explain',
      {
        schema: {
          summary: 'Explain the decision for a principal, action and resource',
          body: obj(['principal', 'action', 'resource'], { principal: { type: 'string', minLength: 1, maxLength: 63 }, action: { enum: [...ACTIONS] }, resource: target, context: explainContext }),
        },
      },
      async (request) => service.explain(callerOf(request), request.body),
    );
  };
}
