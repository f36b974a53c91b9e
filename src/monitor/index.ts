/**
 * Monitor: detectors over the audit stream (volume, slow-and-low, off-hours, new
 * source, probing), each O(1) amortized per record over bounded per-principal state
 * (sliding sums in window/), fed in process as records are stored; alerts with their evidence, notifications (signed webhook, JSON Lines,
 * syslog); locks that suspend a principal, revoke its credentials and cut its
 * downloads in flight; the labelled traffic simulation (`sim/`). `openMonitor` is what
 * the composition root calls; `MonitorService` is what transports call.
 */
export { openMonitor, type MonitorModule, type MonitorCore, type MonitorAttachment } from './open-monitor.js';
export { MonitorService, lockView, type EvidenceView, type LockView, type MonitorServiceDeps, type UnlockCheck } from './monitor-service.js';
export { alertView, alertIdOf, type AlertView } from './alert-record.js';
export { MonitorEngine } from './monitor-engine.js';
export { stepPrincipal, initialPrincipalState, encodePrincipal, decodePrincipal, type PrincipalState } from './detector-set.js';
export { parseAuditRecord, withCatalog, MONITOR_ACTOR, type MonitorEvent } from './monitor-event.js';
export { datasetOf } from './dataset.js';
export { DEFAULT_RULES, mergeRules, loadRulesFile, type MonitorRules, type RuleAction } from './rules.js';
export { RULE_IDS, type Finding, type RuleId, type Severity } from './finding.js';
export { InflightDownloads, type InflightRegistry } from './inflight-downloads.js';
export { signWebhook, verifyWebhookSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './alerting/webhook-signature.js';
export type { AlertNotice, AlertSink, Notice, ReminderNotice } from './alerting/alert-sink.js';
export { MonitorMetrics } from './monitor-metrics.js';
