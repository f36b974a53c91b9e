import type { AuditBodyV1 } from '../../audit/index.js';
import { ValidationError, isCofferError } from '../../domain/errors.js';
import type { PolicySource } from '../../policy/index.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { POLICY_RESOURCE, type PolicyDeps } from './policy-deps.js';
import { RequestReplayer, type SkipReason } from './replay-request.js';

const SYSTEM = { kind: 'system' } as const;
const DAY_MS = 24 * 3600 * 1000;
/** Audit records read at most by one analysis. */
export const MAX_IMPACT_RECORDS = 200_000;
/** Distinct changed decisions listed at most (all are counted). */
const MAX_CHANGES_LISTED = 500;

/** Decisions that would change, grouped by who, what and on what. */
export interface ImpactChange {
  actor: string;
  action: string;
  resource: string;
  /** Decision of the active set (replayed) and of the draft. */
  from: 'allow' | 'deny';
  to: 'allow' | 'deny';
  /** What the audit log recorded at the time (the last occurrence). */
  recorded: 'allow' | 'deny';
  /** How many recorded decisions this covers; first and last audit sequence numbers. */
  count: number;
  firstSeq: number;
  lastSeq: number;
  lastTime: string;
  /** Determining policies under the draft (the forbid that now denies, the policies that now allow). */
  draftDetermining: string[];
  draftErrors: string[];
}

/** What a draft policy set would have changed over the audit log's last N days. */
export interface ImpactReport {
  days: number;
  since: string;
  /** Audit records read, and decisions among them replayed. */
  examined: number;
  replayed: number;
  /** Records that could not be replayed, by reason. */
  skipped: Partial<Record<SkipReason, number>>;
  /** Replayed decisions the draft would turn from allow to deny, and from deny to allow. */
  toDeny: number;
  toAllow: number;
  /**
   * Replayed decisions where even the active set now decides otherwise than recorded:
   * the active set, grants, groups or the catalog changed since (the replay
   * approximates the past).
   */
  drifted: number;
  changes: ImpactChange[];
  /** True if the analysis stopped at MAX_IMPACT_RECORDS records. */
  truncated: boolean;
}

/**
 * Impact analysis (`read-audit`, it reads the audit log): replays the decisions
 * recorded over the last `days` days against the active policy set and against the
 * draft (the built-in set plus `sources`) and reports the decisions that would change,
 * grouped. The past is approximated (see RequestReplayer); `drifted` counts decisions
 * the replay already disagrees on under the active set. The draft is validated first
 * (PolicyInvalidError as for apply).
 */
export async function policyImpact(deps: ServiceDeps, gate: Gate, pdeps: PolicyDeps, caller: Caller, input: { sources: PolicySource[]; days: number }): Promise<ImpactReport> {
  if (!Number.isSafeInteger(input.days) || input.days < 1 || input.days > 366) throw new ValidationError('days must be an integer from 1 to 366');
  const permit = await gate.enter(caller, 'read-audit', SYSTEM, `${POLICY_RESOURCE}/impact`, null, { op: 'impact', days: input.days, sources: input.sources.map((s) => s.name) });
  try {
    const draft = pdeps.factory.engine(input.sources, pdeps.adminGroupId);
    const active = pdeps.engine.active.engine;
    const sinceMs = deps.clock() - input.days * DAY_MS;
    const report: ImpactReport = { days: input.days, since: new Date(sinceMs).toISOString(), examined: 0, replayed: 0, skipped: {}, toDeny: 0, toAllow: 0, drifted: 0, changes: [], truncated: false };
    const groups = new Map<string, ImpactChange>();
    const replayer = new RequestReplayer(deps);
    const start = await pdeps.policyStore.firstAuditSeqSince(sinceMs);
    if (start !== null) {
      for await (const record of deps.store.iterateAudit(start)) {
        if (report.examined >= MAX_IMPACT_RECORDS) {
          report.truncated = true;
          break;
        }
        report.examined++;
        let body: AuditBodyV1;
        try {
          body = JSON.parse(record.body) as AuditBodyV1;
        } catch {
          report.skipped['not-a-decision'] = (report.skipped['not-a-decision'] ?? 0) + 1;
          continue;
        }
        if (body.time < sinceMs) continue;
        const replayed = await replayer.replay(body);
        if ('skip' in replayed) {
          report.skipped[replayed.skip] = (report.skipped[replayed.skip] ?? 0) + 1;
          continue;
        }
        report.replayed++;
        const before = active.authorize(replayed.request);
        const after = draft.authorize(replayed.request);
        if (before.allowed !== (body.decision === 'allow')) report.drifted++;
        if (before.allowed === after.allowed) continue;
        if (after.allowed) report.toAllow++;
        else report.toDeny++;
        const from = before.allowed ? 'allow' : 'deny';
        const to = after.allowed ? 'allow' : 'deny';
        const key = [body.actor!.id, body.action, body.resource, from].join('\u0000');
        const g = groups.get(key);
        if (g !== undefined) {
          g.count++;
          g.lastSeq = record.seq;
          g.lastTime = new Date(body.time).toISOString();
          g.recorded = body.decision;
        } else if (groups.size < MAX_CHANGES_LISTED) {
          groups.set(key, { actor: body.actor!.name, action: body.action, resource: body.resource, from, to, recorded: body.decision, count: 1, firstSeq: record.seq, lastSeq: record.seq, lastTime: new Date(body.time).toISOString(), draftDetermining: after.determining, draftErrors: after.errors });
        }
      }
    }
    report.changes = [...groups.values()].sort((a, b) => b.count - a.count || a.firstSeq - b.firstSeq);
    await permit.finish('success', { details: { replayed: report.replayed, toDeny: report.toDeny, toAllow: report.toAllow } });
    return report;
  } catch (err) {
    await permit.finish('failure', { reason: isCofferError(err) ? err.code : 'error' });
    throw err;
  }
}
