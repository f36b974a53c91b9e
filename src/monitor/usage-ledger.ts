import type { GrantUse, PrincipalUse } from '../store/monitor-store.js';
import type { MonitorEvent } from './monitor-event.js';

/** Actions whose successful use is recorded for reviews and recommendations. */
const RECORDED = new Set(['read-metadata', 'download', 'upload', 'create-artifact', 'delete', 'promote', 'grant']);

/**
 * Usage gathered from audit records between two saves: the last use of each grant
 * (from the determining policies of allowed records) and what each principal did to
 * which catalog item. Drained into the MonitorStore with the detector state, in the
 * same transaction, so a restart neither loses nor double-counts a record.
 */
export class UsageLedger {
  #grants = new Map<string, GrantUse>();
  #uses = new Map<string, PrincipalUse>();

  add(e: MonitorEvent): void {
    if (e.actor === null || e.decision !== 'allow') return;
    for (const grantId of e.grantIds) {
      const g = this.#grants.get(grantId);
      if (g === undefined) this.#grants.set(grantId, { grantId, principalId: e.actor.id, lastUsedAt: e.time, lastSeq: e.seq });
      else if (g.lastUsedAt < e.time) {
        g.principalId = e.actor.id;
        g.lastUsedAt = e.time;
        g.lastSeq = e.seq;
      }
    }
    if (e.outcome !== 'success' || e.target === null || !RECORDED.has(e.action)) return;
    const artifact = e.target.artifact ?? '';
    const key = `${e.actor.id}\n${e.action}\n${e.target.project}\n${artifact}`;
    const u = this.#uses.get(key);
    if (u === undefined) this.#uses.set(key, { principalId: e.actor.id, action: e.action, project: e.target.project, artifact, lastUsedAt: e.time, count: 1 });
    else {
      // in place: the ledger owns its rows until drained
      u.lastUsedAt = Math.max(u.lastUsedAt, e.time);
      u.count++;
    }
  }

  get size(): number {
    return this.#grants.size + this.#uses.size;
  }

  /** Everything gathered so far; the ledger is empty afterwards. */
  drain(): { grantUses: GrantUse[]; principalUses: PrincipalUse[] } {
    const out = { grantUses: [...this.#grants.values()], principalUses: [...this.#uses.values()] };
    this.#grants = new Map();
    this.#uses = new Map();
    return out;
  }

  /** Puts back what a failed save drained, merged with what arrived meanwhile. */
  restore(d: { grantUses: GrantUse[]; principalUses: PrincipalUse[] }): void {
    for (const g of d.grantUses) {
      const cur = this.#grants.get(g.grantId);
      if (cur === undefined || cur.lastUsedAt < g.lastUsedAt) this.#grants.set(g.grantId, g);
    }
    for (const u of d.principalUses) {
      const key = `${u.principalId}\n${u.action}\n${u.project}\n${u.artifact}`;
      const cur = this.#uses.get(key);
      this.#uses.set(key, cur === undefined ? u : { ...cur, lastUsedAt: Math.max(cur.lastUsedAt, u.lastUsedAt), count: cur.count + u.count });
    }
  }
}
