/**
 * Listing by permission: one page of 100 artifacts a user may read, out of 100,000 in
 * one project (SQLite, the embedded default), through the real use case
 * (`CofferService.listArtifacts`: authorize, audit records, candidate rows from the
 * listing plan, a decision per candidate), and the listing alone against deciding row
 * by row (read the project's artifacts in name order, 100 at a time, and decide each
 * until 100 are allowed). Both must return the same page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { ID_PREFIX, newId } from '../../src/domain/ids.js';
import type { Artifact, Grant, Principal, Project } from '../../src/domain/types.js';
import { resolveSubject } from '../../src/identity/resolve-subject.js';
import { openRuntime, type Runtime } from '../../src/runtime/open-runtime.js';
import type { Caller } from '../../src/service/index.js';
import { visibleArtifacts } from '../../src/service/policy/visible-catalog.js';
import type { SqlMetadataStore } from '../../src/store/index.js';
import { artifactToRow } from '../../src/store/sql/rows.js';

/** Timings of one scenario, in ms. */
export interface ListingTiming {
  scenario: string;
  /** Items returned by the page (100 unless fewer are visible). */
  returned: number;
  p50ms: number;
  p95ms: number;
  /** The listing alone (candidate rows and decisions, no authorization or audit record of the request). */
  listingOnly: { p50ms: number; p95ms: number };
  /** Deciding row by row instead (listing only, no audit record), same page. */
  rowByRow: { p50ms: number; p95ms: number };
}

const ARTIFACTS = 100_000;

function quantiles(xs: number[]): { p50ms: number; p95ms: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50ms: s[Math.floor(s.length * 0.5)]!, p95ms: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]! };
}

async function time(runs: number, fn: () => Promise<unknown>): Promise<{ p50ms: number; p95ms: number }> {
  for (let i = 0; i < 3; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return quantiles(xs);
}

/** Runs the listing benchmark; `runs` timed pages per scenario. */
export async function benchListing(runs = 30): Promise<ListingTiming[]> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-listing-bench-'));
  let runtime: Runtime | undefined;
  try {
    runtime = await openRuntime(loadConfig({ flags: { dataDir: dir, listen: '127.0.0.1:0', logLevel: 'silent' } }), { warn: () => undefined });
    const store = runtime.store as SqlMetadataStore;
    const now = Date.now();
    const project: Project = { id: newId(ID_PREFIX.project), name: 'big', description: '', createdBy: 'bench', createdAt: now };
    await store.createProject(project);
    const artifacts: Artifact[] = [];
    const tiers = ['public', 'internal', 'confidential'] as const;
    for (let i = 0; i < ARTIFACTS; i++) {
      artifacts.push({ id: newId(ID_PREFIX.artifact), projectId: project.id, name: `models/m${String(i).padStart(6, '0')}`, kind: 'model', tier: i % 20 === 7 ? 'restricted' : tiers[i % 3]!, environment: i % 4 === 0 ? 'prod' : 'dev', ownerId: 'bench', labels: {}, createdAt: now });
    }
    await store.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < artifacts.length; i += 500) await trx.insertInto('artifacts').values(artifacts.slice(i, i + 500).map(artifactToRow)).execute();
    });
    const user = async (name: string): Promise<Principal> => {
      const p: Principal = { id: newId(ID_PREFIX.principal), kind: 'user', name, displayName: name, ownerId: null, disabled: false, createdAt: now };
      await store.createPrincipal(p);
      return p;
    };
    const grant = (p: Principal, role: Grant['role'], scopeKind: Grant['scopeKind'], scopeId: string) =>
      store.createGrant({ id: newId(ID_PREFIX.grant), principalId: p.id, role, scopeKind, scopeId, createdBy: 'bench', createdAt: now, expiresAt: null });
    // 1,000 artifact grants spread over the whole project: 1% of the rows are visible
    const scattered = await user('scattered');
    for (let i = 0; i < ARTIFACTS; i += 100) await grant(scattered, 'reader', 'artifact', artifacts[i + 37]!.id);
    const projectReader = await user('project-reader');
    await grant(projectReader, 'reader', 'project', project.id);
    const admin = (await store.getPrincipalByName('admins'))!;
    const adminUser = await user('bench-admin');
    await store.addMember(admin.id, adminUser.id);

    const callerOf = async (p: Principal): Promise<Caller> => ({
      subject: await resolveSubject(store, p, Date.now()),
      meta: { requestId: 'bench', sourceIp: '127.0.0.1', userAgent: 'bench' },
      context: { sourceIp: '127.0.0.1', now: Date.now(), mfa: { methods: ['token'], ageSeconds: 0 }, device: { managed: false, id: '' } },
      tokenId: 'bench',
      credentialId: 'bench',
    });
    const service = runtime.service;
    // deciding row by row: the project's artifacts in name order, 100 at a time, until 100 are allowed
    const rowByRow = async (caller: Caller): Promise<Artifact[]> => {
      let cursor: string | null = null;
      const items: Artifact[] = [];
      do {
        const page = await store.listArtifacts(project.id, { limit: 100, cursor });
        for (const artifact of page.items) {
          if (items.length < 100 && service.gate.decide(caller, 'read-metadata', { kind: 'artifact', project, artifact }).allowed) items.push(artifact);
        }
        cursor = page.next;
      } while (cursor !== null && items.length < 100);
      return items;
    };
    const out: ListingTiming[] = [];
    for (const [scenario, p] of [
      ['1,000 artifact grants spread over 100,000 artifacts (1% visible)', scattered],
      ['a project grant (95% visible, restricted hidden)', projectReader],
      ['an admin (everything visible)', adminUser],
    ] as const) {
      const caller = await callerOf(p);
      const page = await service.listArtifacts(caller, 'big', { limit: 100 });
      const timing = await time(runs, () => service.listArtifacts(caller, 'big', { limit: 100 }));
      const listingOnly = await time(runs, () => visibleArtifacts(service.deps, service.gate, caller, project, { limit: 100 }));
      const slow = await rowByRow(caller);
      if (slow.map((a) => a.id).join() !== page.items.map((a) => a.id).join()) throw new Error(`${scenario}: row-by-row listing differs`);
      const baseline = await time(Math.max(3, Math.floor(runs / 5)), () => rowByRow(caller));
      out.push({ scenario, returned: page.items.length, ...timing, listingOnly, rowByRow: baseline });
    }
    return out;
  } finally {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
