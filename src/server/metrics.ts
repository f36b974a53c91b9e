import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one server instance (its own registry, so tests can build many apps). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'coffer_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'coffer_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'coffer_artifact_bytes_total',
    help: 'Plaintext artifact bytes moved, by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'coffer_access_denied_total',
    help: 'Requests refused, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'coffer_process_' });
  }
}
