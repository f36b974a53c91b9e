import type { Registry } from 'prom-client';
import type { AuditLog } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { MonitorConfig } from '../config/config.js';
import { InternalError, isCofferError, type CofferError } from '../domain/errors.js';
import type { ServiceDeps } from '../service/deps.js';
import type { Gate } from '../service/gate.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { MonitorStore } from '../store/monitor-store.js';
import { ReviewService } from '../review/review-service.js';
import { AccountLocker } from './account-locker.js';
import { AlertDispatcher } from './alerting/alert-dispatcher.js';
import type { AlertSink } from './alerting/alert-sink.js';
import { JsonLinesAlertSink } from './alerting/jsonl-alert-sink.js';
import { SyslogAlertSink } from './alerting/syslog-alert-sink.js';
import { WebhookAlertSink } from './alerting/webhook-sink.js';
import { AlertRaiser } from './alert-raiser.js';
import { ArtifactInfoResolver } from './artifact-info-resolver.js';
import { AuditMonitor } from './audit-monitor.js';
import { InflightDownloads } from './inflight-downloads.js';
import { MonitorEngine } from './monitor-engine.js';
import { MonitorMetrics } from './monitor-metrics.js';
import { MonitorService, type UnlockCheck } from './monitor-service.js';
import { DEFAULT_RULES, loadRulesFile } from './rules.js';
import type { MonitorRules } from './rules.js';

/** How often open campaigns are checked for reminders due (reminders are hours apart). */
const REMINDER_SWEEP_MS = 5 * 60_000;

/** How often the leading node reads the audit records other nodes wrote (ms). */
const FOLLOW_MS = 250;

/** What the monitor module needs from the core, before the audit log exists. */
export interface MonitorCore {
  store: MetadataStore;
  monitorStore: MonitorStore;
  clock: () => number;
  warn: (message: string, detail: Record<string, unknown>) => void;
  /** Rules to use instead of the configured ones (tests). */
  rules?: MonitorRules;
  /** Extra notification sinks (tests). */
  sinks?: AlertSink[];
}

/** What the monitor needs once the service exists. */
export interface MonitorAttachment {
  deps: ServiceDeps;
  gate: Gate;
  audit: AuditLog;
  /** Required of whoever unlocks a principal (see src/access/step-up.ts). */
  unlockCheck: UnlockCheck;
  /** Revokes every credential of a principal and what was minted from them, at a lock (credential lineage); returns how many. */
  revokeCredentials: (principalId: string, at: number, reason: string) => Promise<number>;
}

/** The monitoring and review module, as the composition root wires it. */
export interface MonitorModule {
  readonly rules: MonitorRules;
  /** Give these to the audit log (`sinks`): the detectors, fed as records are stored. Empty when disabled on this node. */
  readonly sinks: AuditSink[];
  /** Give this to the service deps (`inflight`): downloads a lock can cut. */
  readonly inflight: InflightDownloads;
  /** Prometheus registry of the module (merged into /metrics). */
  readonly registry: Registry;
  readonly metrics: MonitorMetrics;
  /** Builds the use cases; the detectors start with {@link MonitorModule.lead}. */
  attach(a: MonitorAttachment): { monitor: MonitorService; reviews: ReviewService };
  /** One sweep of review reminders now, at the injected clock's time (the timer runs it every few minutes). */
  sweepReminders(): Promise<{ campaigns: number; reminders: number; reviewers: string[] }>;
  /**
   * Runs the detectors and review reminders on this node until the returned function is
   * called: the composition root hands this to the `monitor` lease, so one node at a time
   * runs them. Nothing runs before `attach`, or when the monitor is disabled.
   */
  lead(): () => Promise<void>;
  /** Whether this node runs the detectors now. */
  leading(): boolean;
  /** Resolves once every record written so far is analysed (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the monitor: rules (defaults, or `monitorRulesFile`), notification sinks
 * (file, webhook, syslog from the config), detectors as an audit sink, metrics.
 * Call before creating the audit log; then `attach` once the service exists.
 */
export function openMonitor(config: MonitorConfig, core: MonitorCore): MonitorModule {
  const rules = core.rules ?? (config.rulesFile !== null ? loadRulesFile(config.rulesFile) : DEFAULT_RULES);
  const sinks: AlertSink[] = [...(core.sinks ?? [])];
  if (config.alertFile !== null) sinks.push(new JsonLinesAlertSink(config.alertFile));
  if (config.webhookUrl !== null && config.webhookSecret !== null) sinks.push(new WebhookAlertSink({ url: config.webhookUrl, secret: config.webhookSecret }));
  if (config.syslog !== null) sinks.push(new SyslogAlertSink(config.syslog));

  const metrics = new MonitorMetrics({
    openAlerts: () => core.monitorStore.countOpenAlerts(),
    lockedPrincipals: async () => new Set((await core.monitorStore.listOpenLocks()).map((l) => l.principalId)).size,
    pendingReviewItems: async () => {
      let n = 0;
      for (const c of await core.monitorStore.listCampaigns({ status: 'open' })) n += (await core.monitorStore.listItems(c.id)).filter((i) => i.decision === 'pending').length;
      return n;
    },
  });
  const report = (err: CofferError, where: string) => core.warn(`monitor: ${where}`, { code: err.code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) });
  const dispatcher = new AlertDispatcher(sinks, (err, sink) => {
    metrics.notifyFailures.inc({ sink });
    report(err, `alert delivery to ${sink} failed`);
  });
  const inflight = new InflightDownloads();
  let raiser: AlertRaiser | null = null;
  // the engine of the detectors this node runs now (null while another node leads)
  let engine: MonitorEngine | null = null;
  metrics.watchState(() => (engine === null ? { principals: 0, bytes: 0, largest: 0 } : { principals: engine.size, bytes: engine.storedBytes, largest: engine.largestStoredState() }));
  // the detectors run on one node at a time (the holder of the `monitor` lease): built anew at each takeover
  const makeDetectors = () => {
    engine = new MonitorEngine(rules);
    return new AuditMonitor({
      store: core.store,
      monitorStore: core.monitorStore,
      engine,
      catalog: new ArtifactInfoResolver(core.store),
      onFinding: async (f) => {
        // INVARIANT: attach() builds the raiser before lead(), and nothing is analysed before start()
        await raiser!.raise(f);
      },
      onError: (err) => report(err, 'detectors'),
      metrics,
      clock: core.clock,
    });
  };
  let detectors: AuditMonitor | null = null;
  // fed by the audit log on every node; only the leading node has detectors to hand records to
  const sink: AuditSink = {
    write: (records) => detectors?.write(records) ?? Promise.resolve(),
    close: async () => undefined,
  };
  let attached = false;
  let reviewService: ReviewService | null = null;

  return {
    rules,
    sinks: config.enabled ? [sink] : [],
    inflight,
    registry: metrics.registry,
    metrics,
    attach(a) {
      if (attached) throw new InternalError('monitor attached twice');
      attached = true;
      const locker = new AccountLocker({ store: core.store, monitorStore: core.monitorStore, inflight, audit: a.audit, clock: core.clock, warn: core.warn, revokeCredentials: a.revokeCredentials });
      raiser = new AlertRaiser({ rules, monitorStore: core.monitorStore, locker, dispatcher, audit: a.audit, metrics, clock: core.clock, warn: core.warn });
      const flushUsage = () => detectors?.persist() ?? Promise.resolve();
      const monitor = new MonitorService(a.deps, a.gate, { monitorStore: core.monitorStore, metrics, clearWindows: (id) => detectors?.clearWindows(id) ?? Promise.resolve(), unlockCheck: a.unlockCheck });
      const reviews = new ReviewService(
        a.deps,
        a.gate,
        {
          monitorStore: core.monitorStore,
          flushUsage,
          onDecision: (decision, by) => metrics.reviewDecisions.inc({ decision, by }),
          onCampaign: () => metrics.campaigns.inc(),
          onApplied: (removed) => {
            metrics.recommendationsApplied.inc();
            metrics.grantsRemoved.inc(removed);
          },
        },
        { staleDays: config.reviewStaleDays, recommendWindowDays: config.recommendWindowDays },
        async () => new Set((await core.monitorStore.listOpenLocks()).map((l) => l.principalId)),
        {
          monitorStore: core.monitorStore,
          notify: (n) => dispatcher.notify(n),
          intervalMs: config.reviewReminderHours * 3_600_000,
          onReminder: () => metrics.reviewReminders.inc(),
        },
      );
      reviewService = reviews;
      return { monitor, reviews };
    },
    lead() {
      if (!attached || !config.enabled) return async () => undefined;
      const running = makeDetectors();
      detectors = running;
      void running.start().catch(() => undefined);
      // records other nodes write reach the leader by reading the log (one indexed query per tick)
      const follow = setInterval(() => void running.follow(), FOLLOW_MS);
      follow.unref();
      let reminderTimer: NodeJS.Timeout | null = null;
      const reviews = reviewService!;
      // the store's claim keeps a reminder round single anyway
      if (config.reviewReminderHours > 0) {
        reminderTimer = setInterval(() => void reviews.sweepReminders().catch((err: unknown) => report(isCofferError(err) ? err : new InternalError('reminder sweep failed', { cause: err }), 'review reminders')), REMINDER_SWEEP_MS);
        reminderTimer.unref();
      }
      return async () => {
        clearInterval(follow);
        if (reminderTimer !== null) clearInterval(reminderTimer);
        if (detectors === running) detectors = null;
        await running.close();
      };
    },
    sweepReminders() {
      if (reviewService === null) return Promise.reject(new InternalError('monitor not attached'));
      return reviewService.sweepReminders();
    },
    leading() {
      return detectors !== null;
    },
    async idle() {
      await detectors?.follow();
      await detectors?.idle();
      await dispatcher.flush();
    },
    async close() {
      await detectors?.close();
      detectors = null;
      await dispatcher.close();
    },
  };
}
