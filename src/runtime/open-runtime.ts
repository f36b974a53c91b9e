import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { EnvKeyProvider, FileKeyProvider, openKeyring } from '../crypto/index.js';
import type { Keyring } from '../crypto/index.js';
import { HashChainAuditLog } from '../audit/index.js';
import { AlreadyExistsError } from '../domain/errors.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import { prepareSetupToken } from '../identity/index.js';
import { CompiledEngine } from '../policy/index.js';
import type { PolicyEngine } from '../policy/index.js';
import { ADMINS_GROUP, CofferService } from '../service/index.js';
import { FsBlobStore, openPostgresStore, openSqliteStore } from '../store/index.js';
import type { MetadataStore } from '../store/index.js';
import { EncryptingVault, rewrapStaleKeys, settingsKeyringStore } from '../vault/index.js';
import { loadAuditKeys } from './sealed-audit-keys.js';
import type { AuthenticatedRoutes } from '../server/routes-v1.js';

/** A running Coffer core: everything but the transport. */
export interface Runtime {
  service: CofferService;
  store: MetadataStore;
  blobStore: FsBlobStore;
  keyring: Keyring;
  audit: HashChainAuditLog;
  policy: PolicyEngine;
  /** The one-time setup token to print, or null once an admin exists. */
  setupToken: string | null;
  /** Routes of feature modules, mounted in the authenticated /v1 scope by the HTTP app. */
  routes: AuthenticatedRoutes[];
  /** Runs when the server is up (background work of feature modules); stopped by close(). */
  onClose: Array<() => Promise<void>>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  clock?: () => number;
  warn?: (message: string, detail: Record<string, unknown>) => void;
}

/**
 * The composition root of the core: the only place that names concrete adapters.
 * Embedded default: SQLite + local disk + generated root key file, all in dataDir.
 */
export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? Date.now;
  const warn = options.warn ?? ((message, detail) => process.emitWarning(`${message} ${JSON.stringify(detail)}`, 'CofferWarning'));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  const store = config.databaseUrl ? openPostgresStore(config.databaseUrl) : openSqliteStore(join(config.dataDir, 'coffer.db'));
  try {
    await store.migrate();
    const blobStore = new FsBlobStore(join(config.dataDir, 'blobs'));
    // a crash (kill -9) mid-upload leaves only temp files: remove them before serving
    await blobStore.sweepTemp();

    const keyProvider = config.rootKey !== null ? new EnvKeyProvider(config.rootKey, 'rootKey') : new FileKeyProvider(join(config.dataDir, 'root.key'));
    const keyring = await openKeyring(keyProvider, settingsKeyringStore(store));
    const vault = new EncryptingVault({ blobStore, keyring, segmentSize: config.segmentSize });
    const audit = new HashChainAuditLog(store, await loadAuditKeys(store, keyring), {
      checkpointEvery: config.auditCheckpointEvery,
      now: clock,
      onError: (err) => warn('audit background failure', { code: err.code, message: err.message }),
    });

    const admins = await ensureAdminsGroup(store, clock());
    // the compiled evaluator serves; cedar-wasm stays the reference it is tested against
    const policy = new CompiledEngine({ adminGroupId: admins });

    const service = new CofferService({
      store,
      vault,
      audit,
      policy,
      clock,
      settings: { tokenTtlSeconds: config.tokenTtlSeconds, maxUploadBytes: config.maxUploadBytes },
      warn,
      rewrapAllKeys: async () => {
        const report = await rewrapStaleKeys(vault, store);
        await loadAuditKeys(store, keyring);
        if (report.failed.length > 0) warn('some data keys could not be rewrapped', { failed: report.failed.length });
        return report.rewrapped;
      },
    });
    const setupToken = await prepareSetupToken(store, admins);
    // feature modules add their routes and shutdown hooks here
    const routes: AuthenticatedRoutes[] = [];
    const onClose: Array<() => Promise<void>> = [];
    return {
      service,
      store,
      blobStore,
      keyring,
      audit,
      policy,
      setupToken,
      routes,
      onClose,
      close: async () => {
        for (const hook of onClose.reverse()) await hook().catch(() => undefined);
        keyring.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/** The `admins` group exists from the first start, so every node knows its id. */
async function ensureAdminsGroup(store: MetadataStore, now: number): Promise<string> {
  const existing = await store.getPrincipalByName(ADMINS_GROUP);
  if (existing !== null) return existing.id;
  try {
    await store.createPrincipal({ id: newId(ID_PREFIX.principal), kind: 'group', name: ADMINS_GROUP, displayName: 'Coffer administrators', ownerId: null, disabled: false, createdAt: now });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  const created = await store.getPrincipalByName(ADMINS_GROUP);
  if (created === null) throw new AlreadyExistsError(`group \`${ADMINS_GROUP}\` could not be created`);
  return created.id;
}
