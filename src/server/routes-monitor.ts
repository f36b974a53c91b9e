import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../domain/errors.js';
import type { MonitorService } from '../monitor/monitor-service.js';
import type { ReviewService } from '../review/review-service.js';
import type { ReviewScope } from '../review/campaigns.js';
import type { Tier } from '../domain/types.js';
import { TIERS } from '../domain/types.js';
import { callerOf, type AuthenticatedRoutes } from './routes-v1.js';

const name = { type: 'string', minLength: 1, maxLength: 63 } as const;
const id = { type: 'string', minLength: 1, maxLength: 64 } as const;
const note = { type: 'string', maxLength: 2000 } as const;
const days = { type: 'integer', minimum: 1, maximum: 365 } as const;
const obj = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties }) as const;
const idParams = obj(['id'], { id });

/**
 * Routes of monitoring (alerts, locks, unlock), access reviews and least-privilege
 * recommendations, in the authenticated /v1 scope. Authorization and audit are the
 * services' (through the Gate); routes only validate and translate.
 */
export function monitorRoutes(monitor: MonitorService, reviews: ReviewService): AuthenticatedRoutes {
  return (app: FastifyInstance) => {
    // ---- alerts and locks ----
    app.get<{ Querystring: { status?: 'open' | 'acked'; principal?: string; limit?: number; cursor?: string } }>(
      '/monitor/alerts',
      { schema: { summary: 'Alerts of the detectors, newest first', querystring: obj([], { status: { enum: ['open', 'acked'] }, principal: name, limit: { type: 'integer', minimum: 1, maximum: 1000 }, cursor: { type: 'string', maxLength: 512 } }) } },
      async (request) => monitor.listAlerts(callerOf(request), request.query),
    );
    app.get<{ Params: { id: string } }>('/monitor/alerts/:id', { schema: { summary: 'An alert with the audit records behind it', params: idParams } }, async (request) =>
      monitor.showAlert(callerOf(request), request.params.id),
    );
    app.post<{ Params: { id: string }; Body: { note?: string } }>(
      '/monitor/alerts/:id/ack',
      { schema: { summary: 'Acknowledge an alert', params: idParams, body: obj([], { note }) } },
      async (request) => monitor.ackAlert(callerOf(request), request.params.id, request.body?.note ?? null),
    );
    app.get('/monitor/locks', { schema: { summary: 'Principals locked by the monitor' } }, async (request) => ({ items: await monitor.listLocks(callerOf(request)) }));
    app.post<{ Params: { name: string }; Body: { note?: string } }>(
      '/monitor/unlock/:name',
      { schema: { summary: 'Lift the monitor lock of a principal after review', params: obj(['name'], { name }), body: obj([], { note }) } },
      async (request) => monitor.unlock(callerOf(request), request.params.name, request.body?.note ?? null),
    );
    app.get<{ Querystring: { days?: number } }>(
      '/monitor/over-privileged',
      { schema: { summary: 'Service accounts holding more than they use', querystring: obj([], { days }) } },
      async (request) => ({ items: await reviews.overPrivileged(callerOf(request), request.query) }),
    );

    // ---- access reviews ----
    app.post<{ Body: { scope: 'all' | 'project' | 'tier'; project?: string; tier?: Tier; name?: string; staleDays?: number; dueDays?: number } }>(
      '/reviews',
      {
        schema: {
          summary: 'Start an access review campaign',
          body: obj(['scope'], { scope: { enum: ['all', 'project', 'tier'] }, project: name, tier: { enum: [...TIERS] }, name: { type: 'string', minLength: 1, maxLength: 200 }, staleDays: { type: 'integer', minimum: 0, maximum: 3650 }, dueDays: days }),
        },
      },
      async (request, reply) => {
        const b = request.body;
        let scope: ReviewScope;
        if (b.scope === 'project') {
          if (b.project === undefined) throw new ValidationError('a project campaign needs `project`');
          scope = { kind: 'project', project: b.project };
        } else if (b.scope === 'tier') {
          if (b.tier === undefined) throw new ValidationError('a tier campaign needs `tier`');
          scope = { kind: 'tier', tier: b.tier };
        } else {
          scope = { kind: 'all' };
        }
        const started = await reviews.startCampaign(callerOf(request), { scope, ...(b.name !== undefined ? { name: b.name } : {}), ...(b.staleDays !== undefined ? { staleDays: b.staleDays } : {}), ...(b.dueDays !== undefined ? { dueDays: b.dueDays } : {}) });
        return reply.code(201).send(started);
      },
    );
    app.get<{ Querystring: { status?: 'open' | 'closed' } }>('/reviews', { schema: { summary: 'Review campaigns the caller takes part in', querystring: obj([], { status: { enum: ['open', 'closed'] } }) } }, async (request) => ({
      items: await reviews.listCampaigns(callerOf(request), request.query.status),
    }));
    app.post<{ Params: { id: string } }>('/reviews/:id/remind', { schema: { summary: 'Remind the reviewers of a campaign of their pending items now', params: idParams } }, async (request) =>
      reviews.remind(callerOf(request), request.params.id),
    );
    app.get<{ Params: { id: string } }>('/reviews/:id', { schema: { summary: 'A campaign and the items the caller may decide', params: idParams } }, async (request) =>
      reviews.listItems(callerOf(request), request.params.id),
    );
    app.get<{ Params: { id: string }; Querystring: { format?: 'csv' | 'json' } }>(
      '/reviews/:id/export',
      { schema: { summary: 'Export a campaign as CSV or JSON', params: idParams, querystring: obj([], { format: { enum: ['csv', 'json'] } }) } },
      async (request, reply) => {
        const out = await reviews.exportCampaign(callerOf(request), request.params.id, request.query.format ?? 'csv');
        return reply.type(out.contentType).header('content-disposition', `attachment; filename="review-${request.params.id.replace(/[^A-Za-z0-9_-]/g, '')}.${request.query.format ?? 'csv'}"`).send(out.body);
      },
    );
    app.post<{ Params: { id: string }; Body: { decision: 'certify' | 'revoke'; note?: string } }>(
      '/reviews/items/:id/decision',
      { schema: { summary: 'Certify or revoke one reviewed grant', params: idParams, body: obj(['decision'], { decision: { enum: ['certify', 'revoke'] }, note }) } },
      async (request) => reviews.decide(callerOf(request), request.params.id, request.body.decision, request.body.note ?? null),
    );

    // ---- least-privilege recommendations ----
    app.get<{ Params: { name: string }; Querystring: { days?: number } }>(
      '/recommendations/:name',
      { schema: { summary: 'The smallest set of grants covering a principal\'s use', params: obj(['name'], { name }), querystring: obj([], { days }) } },
      async (request) => reviews.recommend(callerOf(request), { principal: request.params.name, ...(request.query.days !== undefined ? { days: request.query.days } : {}) }),
    );
    app.post<{ Params: { name: string }; Body: { days?: number } }>(
      '/recommendations/:name/apply',
      { schema: { summary: 'Apply the recommendation: narrow the principal\'s grants', params: obj(['name'], { name }), body: obj([], { days }) } },
      async (request) => reviews.recommend(callerOf(request), { principal: request.params.name, apply: true, ...(request.body?.days !== undefined ? { days: request.body.days } : {}) }),
    );
  };
}
