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
  /** Revokes a principal's sessions at a lock (identity module). */
  revokeSessions?: (principalId: string, at: number, reason: string) => Promise<number>;
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
  /** Builds the use cases and starts the detectors (their state loads and catches up in the background). */
  attach(a: MonitorAttachment): { monitor: MonitorService; reviews: ReviewService };
  /** One sweep of review reminders now, at the injected clock's time (the timer runs it every few minutes). */
  sweepReminders(): Promise<{ campaigns: number; reminders: number; reviewers: string[] }>;
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
  const engine = new MonitorEngine(rules);
  metrics.watchState(() => ({ principals: engine.size, bytes: engine.storedBytes, largest: engine.largestStoredState() }));
  let raiser: AlertRaiser | null = null;
  const detectors = new AuditMonitor({
    store: core.store,
    monitorStore: core.monitorStore,
    engine,
    catalog: new ArtifactInfoResolver(core.store),
    onFinding: async (f) => {
      // INVARIANT: attach() builds the raiser before start(), and nothing is analysed before start()
      await raiser!.raise(f);
    },
    onError: (err) => report(err, 'detectors'),
    metrics,
    clock: core.clock,
  });
  let attached = false;
  let reviewService: ReviewService | null = null;
  let reminderTimer: NodeJS.Timeout | null = null;

  return {
    rules,
    sinks: config.enabled ? [detectors] : [],
    inflight,
    registry: metrics.registry,
    metrics,
    attach(a) {
      if (attached) throw new InternalError('monitor attached twice');
      attached = true;
      const locker = new AccountLocker({ store: core.store, monitorStore: core.monitorStore, inflight, audit: a.audit, clock: core.clock, warn: core.warn, ...(a.revokeSessions ? { revokeSessions: a.revokeSessions } : {}) });
      raiser = new AlertRaiser({ rules, monitorStore: core.monitorStore, locker, dispatcher, audit: a.audit, metrics, clock: core.clock, warn: core.warn });
      if (config.enabled) void detectors.start().catch(() => undefined);
      const flushUsage = () => (config.enabled ? detectors.persist() : Promise.resolve());
      const monitor = new MonitorService(a.deps, a.gate, { monitorStore: core.monitorStore, metrics, clearWindows: (id) => detectors.clearWindows(id), unlockCheck: a.unlockCheck });
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
      // reminders go out from the node that runs the detectors; the store's claim keeps a round single anyway
      if (config.enabled && config.reviewReminderHours > 0) {
        reminderTimer = setInterval(() => void reviews.sweepReminders().catch((err: unknown) => report(isCofferError(err) ? err : new InternalError('reminder sweep failed', { cause: err }), 'review reminders')), REMINDER_SWEEP_MS);
        reminderTimer.unref();
      }
      return { monitor, reviews };
    },
    sweepReminders() {
      if (reviewService === null) return Promise.reject(new InternalError('monitor not attached'));
      return reviewService.sweepReminders();
    },
    async idle() {
      if (config.enabled && attached) await detectors.idle();
      await dispatcher.flush();
    },
    async close() {
      if (reminderTimer !== null) clearInterval(reminderTimer);
      if (config.enabled && attached) await detectors.close();
      await dispatcher.close();
    },
  };
}
