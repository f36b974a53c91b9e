/** Test helpers of the audit module (not part of its API): sample events, a real SQLite store. */
import BetterSqlite3 from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetadataStore } from '../store/metadata-store.js';
import { openSqliteStore } from '../store/sqlite/open-sqlite-store.js';
import type { AuditEvent } from './audit-event.js';
import type { AuditStore } from './hash-chain-audit-log.js';

/** The repository root (the directory holding package.json), from src/ or dist/src/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test file');
    dir = up;
  }
  return dir;
}

/** A plausible event for tests; `i` varies the request id and resource. */
export function sampleEvent(i: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: 1_700_000_000_000 + i,
    requestId: `req-${i}`,
    actor: { id: 'prn_alice', name: 'alice', kind: 'user' },
    action: 'download',
    resource: `project/ml/artifact/resnet@${i}`,
    decision: 'allow',
    policies: ['policy0'],
    outcome: 'attempt',
    context: { ip: '127.0.0.1', mfa: true },
    sensitive: { email: 'alice@example.com' },
    ...overrides,
  };
}

/**
 * A real SQLite metadata store in a fresh temp directory, migrated, with a count of
 * appendAudit calls (a delegating wrapper, not a fake) and a second raw connection to
 * the same file for tests that play an attacker or a competing writer.
 */
export interface TestStore {
  /** The audit part of the store, counting appendAudit calls. */
  store: AuditStore;
  /** The store itself (to close it under the log). */
  inner: MetadataStore;
  path: string;
  appendCalls(): number;
  /** A raw better-sqlite3 connection to the same database file. */
  raw(): BetterSqlite3.Database;
  close(): Promise<void>;
}

/** Opens a {@link TestStore}; `busyTimeoutMs` is the store's wait for a competing writer's lock. */
export async function openTestStore(options: { busyTimeoutMs?: number } = {}): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-audit-'));
  const path = join(dir, 'meta.db');
  const inner = openSqliteStore(path, { busyTimeoutMs: options.busyTimeoutMs ?? 2000 });
  await inner.migrate();
  let calls = 0;
  let raw: BetterSqlite3.Database | null = null;
  const store: AuditStore = {
    appendAudit: (build) => {
      calls++;
      return inner.appendAudit(build);
    },
    iterateAudit: (fromSeq) => inner.iterateAudit(fromSeq),
    lastAudit: () => inner.lastAudit(),
    putAuditCheckpoint: (c) => inner.putAuditCheckpoint(c),
    listAuditCheckpoints: () => inner.listAuditCheckpoints(),
  };
  return {
    store,
    inner,
    path,
    appendCalls: () => calls,
    raw: () => {
      raw ??= new BetterSqlite3(path);
      return raw;
    },
    close: async () => {
      raw?.close();
      await inner.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
