import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Reads for the gauges, done when /metrics is scraped. */
export interface MetricSources {
  openAlerts: () => Promise<number>;
  lockedPrincipals: () => Promise<number>;
  pendingReviewItems: () => Promise<number>;
}

/** The size of the detectors' state, read at scrape time. */
export interface StateStats {
  principals: number;
  /** Bytes of every principal's state as last saved. */
  bytes: number;
  /** Bytes of the largest principal's state as last saved. */
  largest: number;
}

/**
 * Prometheus metrics of monitoring, reviews and recommendations, in their own registry
 * (merged into the server's /metrics).
 */
export class MonitorMetrics {
  readonly registry = new Registry();
  readonly records = new Counter({ name: 'coffer_monitor_records_total', help: 'Audit records analysed by the detectors', registers: [this.registry] });
  readonly alerts = new Counter({ name: 'coffer_monitor_alerts_total', help: 'Alerts raised, by rule and action', labelNames: ['rule', 'action'] as const, registers: [this.registry] });
  readonly locks = new Counter({ name: 'coffer_monitor_locks_total', help: 'Principals locked by the monitor', registers: [this.registry] });
  readonly unlocks = new Counter({ name: 'coffer_monitor_unlocks_total', help: 'Locks lifted by an administrator', registers: [this.registry] });
  readonly aborted = new Counter({ name: 'coffer_monitor_downloads_aborted_total', help: 'Downloads in flight cut by a lock', registers: [this.registry] });
  readonly notifyFailures = new Counter({ name: 'coffer_monitor_notification_failures_total', help: 'Alert notifications that could not be delivered, by sink', labelNames: ['sink'] as const, registers: [this.registry] });
  readonly lag = new Gauge({ name: 'coffer_monitor_lag_seconds', help: 'Time from the last analysed record to its analysis', registers: [this.registry] });
  readonly lastSeq = new Gauge({ name: 'coffer_monitor_last_seq', help: 'Seq of the last audit record analysed', registers: [this.registry] });
  // The detectors run on the event loop that serves requests: what they cost per record
  // shows there (the lag stays small while every request waits behind them).
  readonly detectorSeconds = new Histogram({
    name: 'coffer_monitor_detector_seconds',
    help: 'Time the detectors took per audit record (on the event loop that serves requests)',
    buckets: [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1],
    registers: [this.registry],
  });
  readonly persistedStates = new Counter({ name: 'coffer_monitor_persisted_states_total', help: 'Principal states written to the database (only those that changed since the last save)', registers: [this.registry] });
  readonly persistedBytes = new Counter({ name: 'coffer_monitor_persisted_bytes_total', help: 'Bytes of principal state written to the database', registers: [this.registry] });
  readonly persistSeconds = new Histogram({
    name: 'coffer_monitor_persist_seconds',
    help: 'Time one save of the changed detector state took (encoding and the transaction)',
    buckets: [1e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  #stateStats: (() => StateStats) | null = null;
  readonly reviewDecisions = new Counter({ name: 'coffer_review_decisions_total', help: 'Access review decisions, by decision and by whom (reviewer or automatic)', labelNames: ['decision', 'by'] as const, registers: [this.registry] });
  readonly campaigns = new Counter({ name: 'coffer_review_campaigns_total', help: 'Access review campaigns started', registers: [this.registry] });
  readonly reviewReminders = new Counter({ name: 'coffer_review_reminders_total', help: 'Reminders of pending review items sent (one per reviewer per campaign)', registers: [this.registry] });
  readonly recommendationsApplied = new Counter({ name: 'coffer_recommendations_applied_total', help: 'Least-privilege recommendations applied', registers: [this.registry] });
  readonly grantsRemoved = new Counter({ name: 'coffer_recommendations_grants_removed_total', help: 'Grants removed or narrowed by applied recommendations', registers: [this.registry] });

  constructor(sources: MetricSources) {
    const gauge = (name: string, help: string, read: () => Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          // a scrape must not fail because the database is slow: keep the last value
          try {
            this.set(await read());
          } catch {
            /* keep the previous value */
          }
        },
      });
    gauge('coffer_monitor_open_alerts', 'Alerts not yet acknowledged', sources.openAlerts);
    gauge('coffer_monitor_locked_principals', 'Principals locked and not yet unlocked', sources.lockedPrincipals);
    gauge('coffer_review_pending_items', 'Review items awaiting a decision in open campaigns', sources.pendingReviewItems);
    const stats = () => this.#stateStats?.() ?? null;
    const stateGauge = (name: string, help: string, pick: (s: StateStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats();
          if (s !== null) this.set(pick(s));
        },
      });
    stateGauge('coffer_monitor_state_principals', 'Principals (and unauthenticated sources) the detectors hold state for', (s) => s.principals);
    stateGauge('coffer_monitor_state_bytes', 'Bytes of the detectors\' state as last saved, all principals', (s) => s.bytes);
    stateGauge('coffer_monitor_state_largest_bytes', 'Bytes of the largest principal state as last saved (bounded whatever the traffic)', (s) => s.largest);
  }

  /** Where the state gauges read from (the detectors' engine, once it exists). */
  watchState(read: () => StateStats): void {
    this.#stateStats = read;
  }
}
