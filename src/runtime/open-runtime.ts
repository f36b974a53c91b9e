import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { openKeyring } from '../crypto/index.js';
import type { Keyring } from '../crypto/index.js';
import { HashChainAuditLog, WitnessFile, exportAuditPublicKey, type CheckpointWitness } from '../audit/index.js';
import { NoticeWitness } from '../monitor/alerting/notice-witness.js';
import { WebhookAlertSink } from '../monitor/alerting/webhook-sink.js';
import { SyslogAlertSink } from '../monitor/alerting/syslog-alert-sink.js';
import { AlreadyExistsError } from '../domain/errors.js';
import { ID_PREFIX, newId } from '../domain/ids.js';
import { prepareSetupToken } from '../identity/index.js';
import { PolicyService, openPolicyRuntime } from '../service/policy/index.js';
import { SqlPolicyStore } from '../store/sql/policy-sql-store.js';
import { policyRoutes } from '../server/routes-policy.js';
import type { PolicyEngine } from '../policy/index.js';
import { ADMINS_GROUP, CofferService } from '../service/index.js';
import { openPostgresStore, openSqliteStore } from '../store/index.js';
import type { BlobStore, MetadataStore } from '../store/index.js';
import { openBlobStore } from './open-blob-store.js';
import { VersionScanner } from '../service/scan/version-scanner.js';
import { openKeyProvider } from './open-key-provider.js';
import { EncryptingVault, orphanGraceMs, orphanSweepIntervalMs, rewrapStaleKeys, rewrapStalePartKeys, settingsKeyringStore, startOrphanSweeps } from '../vault/index.js';
import { loadAuditKeys } from './sealed-audit-keys.js';
import { Readiness } from './readiness.js';
import type { AuthenticatedRoutes } from '../server/routes-v1.js';
import { Identity, loadIdentityKeys, rotateSigningKey, totalRevoked } from '../identity/index.js';
import { SqlCredentialStore } from '../store/sql/credential-sql-store.js';
import { IdentityService, ScimService } from '../service/identity/index.js';
import { SqlIdentityStore } from '../store/sql/identity-sql-store.js';
import type { PublicRoutes } from '../server/app.js';
import { identityPublicRoutes, identityRoutes } from '../server/routes-identity.js';
import { scimRoutes } from '../server/routes-scim.js';
import { openAccess } from '../service/access/index.js';
import type { AccessModule } from '../service/access/index.js';
import { SqlAccessStore } from '../store/sql/access-sql-store.js';
import { accessRoutes } from '../server/routes-access.js';
import { gateRoutes } from '../server/routes-gate.js';
import { GateService } from '../service/scan/gate-service.js';
import { shareLinkRoutes } from '../server/share-links.js';
import { S3Service } from '../s3/index.js';
import { SqlS3Store } from '../store/sql/s3-sql-store.js';
import { s3Routes } from '../server/routes-s3.js';
import type { Registry } from 'prom-client';
import { openMonitor, type MonitorModule } from '../monitor/index.js';
import { freshAuthenticationCheck } from '../access/step-up.js';
import { MonitorSqlStore } from '../store/sql/monitor-sql-store.js';
import { monitorRoutes } from '../server/routes-monitor.js';
import type { ChangeFeed } from '../store/change-feed.js';
import type { Leases } from '../store/leases.js';
import { AccountLockedError } from '../domain/errors.js';
import { openCluster, timerJob } from './open-cluster.js';

/** A running Coffer core: everything but the transport. */
export interface Runtime {
  service: CofferService;
  store: MetadataStore;
  /** Ciphertext: `dataDir/blobs` or an S3-compatible bucket (config `blobStore`). */
  blobStore: BlobStore;
  keyring: Keyring;
  audit: HashChainAuditLog;
  policy: PolicyEngine;
  /** The one-time setup token to print, or null once an admin exists. */
  setupToken: string | null;
  /** Routes of feature modules, mounted in the authenticated /v1 scope by the HTTP app. */
  routes: AuthenticatedRoutes[];
  /** Routes of feature modules outside the authenticated scope (login, JWKS, SCIM...). */
  publicRoutes: PublicRoutes[];
  /** Sessions, access tokens, MFA, devices (src/identity). */
  identity: Identity;
  /** Just-in-time access, break-glass, promotions, share links; `access.checks` takes promotion checks. */
  access: AccessModule;
  /** The S3-compatible endpoint's service (src/s3); main.ts serves it on `s3Listen`. */
  s3: S3Service;
  /** Runs when the server is up (background work of feature modules); stopped by close(). */
  onClose: Array<() => Promise<void>>;
  /** Detectors, alerts, locks, reviews (src/monitor, src/review); `monitor.idle()` waits for the detectors. */
  monitor: MonitorModule;
  /** Prometheus registries of feature modules, merged into /metrics by the HTTP app. */
  metricRegistries: Registry[];
  /** Whether this node can serve: audit records writable, database and blob store reachable (`/v1/ready`). */
  readiness: Readiness;
  /** The artifact gate's scanner of new versions (src/service/scan); `scanner.drain()` waits for the queue. */
  scanner: VersionScanner;
  /** Invalidation of what nodes cache (docs/architecture.md#stateless-nodes). */
  changes: ChangeFeed;
  /** Singleton jobs: which of them this node runs now. */
  leases: Leases;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  clock?: () => number;
  warn?: (message: string, detail: Record<string, unknown>) => void;
}

/**
 * The composition root of the core: the only place that names concrete adapters.
 * Embedded default: SQLite + local disk + generated root key file, all in dataDir.
 * Scaled out: PostgreSQL (`databaseUrl`) + an S3 bucket (`blobStore`) + a root key in an
 * HSM or a KMS (`keyProvider`), see docs/deploy.md.
 */
export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? Date.now;
  const warn = options.warn ?? ((message, detail) => process.emitWarning(`${message} ${JSON.stringify(detail)}`, 'CofferWarning'));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  const rawStore = config.databaseUrl ? openPostgresStore(config.databaseUrl) : openSqliteStore(join(config.dataDir, 'coffer.db'));
  // opened one after the other; whatever opened is closed again if a later step fails
  const closers: Array<() => Promise<void>> = [() => rawStore.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    await rawStore.migrate();
    // several nodes on one database: caches follow the change feed, singleton jobs run under leases;
    // `store` publishes its writes that change cached state (docs/architecture.md#stateless-nodes)
    const cluster = await openCluster(rawStore, config.databaseUrl, warn);
    closers.push(() => cluster.close());
    const { changes, leases, store } = cluster;
    const blobs = await openBlobStore(config, warn);
    closers.push(() => blobs.close());
    const blobStore = blobs.store;

    const keys = await openKeyProvider(config);
    closers.push(async () => {
      await keys.provider.close();
      await keys.previous?.close();
    });
    const keyring = await openKeyring(keys.provider, settingsKeyringStore(store), { previous: keys.previous });
    closers.push(async () => keyring.close());
    const vault = new EncryptingVault({ blobStore, keyring, segmentSize: config.segmentSize, maxSealMs: config.maxUploadSeconds * 1000 });
    // the detectors read the audit stream as it is written: they are one of its sinks
    const monitor = openMonitor(config.monitor, { store, monitorStore: new MonitorSqlStore(store.kysely, store.dialect), clock, warn });
    const auditKeys = await loadAuditKeys(store, keyring);
    // checkpoints are also kept outside the database: a file beside it (or elsewhere), optionally a webhook and syslog
    const witnessFile = config.auditWitness.file === null ? null : new WitnessFile(config.auditWitness.file);
    const auditPublicKey = exportAuditPublicKey(auditKeys);
    const witnesses: CheckpointWitness[] = [
      ...(witnessFile ? [witnessFile] : []),
      ...(config.auditWitness.webhookUrl !== null ? [new NoticeWitness(new WebhookAlertSink({ url: config.auditWitness.webhookUrl, secret: config.auditWitness.webhookSecret!, now: clock }), auditPublicKey)] : []),
      ...(config.auditWitness.syslog !== null ? [new NoticeWitness(new SyslogAlertSink(config.auditWitness.syslog), auditPublicKey)] : []),
    ];
    const audit = new HashChainAuditLog(store, auditKeys, {
      checkpointEvery: config.auditCheckpointEvery,
      checkpointIntervalMs: config.auditCheckpointSeconds * 1000,
      witnesses,
      ...(witnessFile ? { witnessReader: witnessFile } : {}),
      now: clock,
      onError: (err) => warn('audit background failure', { code: err.code, message: err.message }),
      sinks: monitor.sinks,
      signsCheckpoints: () => leases.holds('audit-checkpoints'),
    });
    leases.run('audit-checkpoints', timerJob(AUDIT_CHECKPOINT_JOB_MS, () => audit.checkpointIfDue()));

    const admins = await ensureAdminsGroup(store, clock());
    // the compiled evaluator serves the active policy set (docs/policy.md), behind a holder that
    // policy management swaps; cedar-wasm stays the reference it is tested against
    const policyStore = cluster.publishing(new SqlPolicyStore(store), { createAndActivate: () => 'policy', activate: () => 'policy' });
    const policyRuntime = await openPolicyRuntime({
      policyStore,
      settings: { timeZone: config.timeZone, trustedNetworks: config.trustedNetworks },
      adminGroupId: admins,
      warn,
    });
    const policy = policyRuntime.engine;

    // identity: sessions, Ed25519 access tokens, MFA, devices; the service authenticates through it
    const identity = new Identity(store, new SqlIdentityStore(store), await loadIdentityKeys(store, keyring), {
      issuer: config.identity.tokenIssuer,
      publicUrl: config.identity.publicUrl,
      accessTokenSeconds: config.identity.accessTokenTtlSeconds,
      sessionSeconds: config.identity.sessionTtlSeconds,
      servicePatMaxTtlSeconds: config.identity.servicePatMaxTtlSeconds,
      requireStepUpForUserTokens: config.identity.requireStepUpForUserTokens,
      mintedCredentialMaxTtlSeconds: config.identity.mintedCredentialMaxTtlSeconds,
    }, new SqlCredentialStore(store.kysely, store.dialect));
    // every node re-reads the identity keys (a signing-key rotation on another node reaches it)
    identity.setKeySource({ load: () => loadIdentityKeys(store, keyring), rotateSigning: (now, retireNow) => rotateSigningKey(store, keyring, now, retireNow) });
    changes.subscribe('identity-keys', () => void identity.refreshKeys(clock()));
    // KEK terms added or retired (crypto-shredding) elsewhere: this node's copy follows at once
    changes.subscribe('keyring', () => void keyring.refresh().catch((err: unknown) => warn('keyring refresh failed', { message: (err as Error).message })));
    // a lock or a disabled principal on any node cuts that principal's downloads in flight here
    changes.subscribe('locks', () => {
      void monitor.inflight
        .cutRefused(async (id) => {
          const p = await store.getPrincipal(id);
          return p === null || p.disabled;
        }, () => new AccountLockedError())
        .catch((err: unknown) => warn('in-flight downloads could not be checked after a lock', { message: (err as Error).message }));
    });

    const service = new CofferService({
      identity,
      inflight: monitor.inflight,
      // listings read only the rows the caller's grants and the policies name
      catalogCandidates: policyStore,
      store,
      vault,
      audit,
      policy,
      clock,
      settings: { tokenTtlSeconds: config.tokenTtlSeconds, maxUploadBytes: config.maxUploadBytes, unauthenticated: config.unauthenticated },
      warn,
      rewrapAllKeys: async () => {
        const report = await rewrapStaleKeys(vault, store);
        // the parts of open multipart uploads too, or an upload left open across the retirement
        // of a term could not be completed (`s3` is made below; rotation runs once the runtime is up)
        const parts = await rewrapStalePartKeys(vault, s3.ctx.store);
        await loadAuditKeys(store, keyring);
        identity.setKeys(await loadIdentityKeys(store, keyring));
        if (report.failed.length > 0) warn('some data keys could not be rewrapped', { failed: report.failed.length });
        if (parts.failed.length > 0) warn('some multipart upload part data keys could not be rewrapped', { failed: parts.failed.length });
        return report.rewrapped + parts.rewrapped;
      },
    });
    // the artifact gate: every new version, whatever wrote it, is scanned from its sealed bytes (docs/gate.md)
    const scanner = new VersionScanner(service.deps, { concurrency: config.gateScanConcurrency });
    service.deps.versionCommitted = () => scanner.nudge();
    service.deps.settleScan = (id) => scanner.settle(id);
    scanner.start();
    closers.push(() => scanner.stop());
    const setupToken = await prepareSetupToken(store, admins);
    // feature modules add their routes and shutdown hooks here
    const routes: AuthenticatedRoutes[] = [];
    const onClose: Array<() => Promise<void>> = [];
    const publicRoutes: PublicRoutes[] = [];
    {
      // policy management; every node follows the active policy set (polled every second)
      routes.push(policyRoutes(new PolicyService(service.deps, service.gate, policyRuntime.deps)));
      onClose.push(policyRuntime.startSync(changes));
    }
    {
      const identityService = new IdentityService(service.deps, service.gate);
      routes.push(identityRoutes(identityService));
      publicRoutes.push(identityPublicRoutes(identityService), scimRoutes(new ScimService(service.deps)));
      // expired tickets and revocation entries are dropped every 10 minutes (never on the request path)
      leases.run('identity-sweep', timerJob(10 * 60_000, () => identity.identityStore.sweep(clock())));
    }
    // access: just-in-time requests, break-glass, promotion gates, share links (docs/access.md)
    const access = openAccess(service.deps, service.gate, config.access, { store: new SqlAccessStore(store), singleton: (name, start) => leases.run(name, start) });
    routes.push(accessRoutes(access.service));
    // the artifact gate's verdicts and exceptions (docs/gate.md); exceptions are access requests
    routes.push(gateRoutes(new GateService(access.service.ctx)));
    publicRoutes.push(shareLinkRoutes(access.service));
    onClose.push(() => access.close());
    // S3-compatible endpoint (docs/s3.md): credentials over REST here, the S3 listener in main.ts
    const s3 = new S3Service({ deps: service.deps, gate: service.gate, store: new SqlS3Store(store.kysely, store.dialect), keyring, region: 'us-east-1', defaultTier: 'internal', minPartSize: 5 * 1024 * 1024, requireStepUpForUserTokens: config.identity.requireStepUpForUserTokens });
    routes.push(s3Routes(s3));
    {
      // abandoned multipart uploads (a week old) and long-expired credentials go hourly, never on the request path
      leases.run('s3-sweep', timerJob(3600_000, () => s3.sweep(7 * 24 * 3600_000)));
    }
    {
      // complete blobs nothing points to (a crash between a blob's publication and its row's
      // commit, or between a row's removal and its blob's): removed at start and periodically
      // once older than the longest possible upload plus a commit margin (docs/security.md#orphaned-blobs)
      const graceMs = orphanGraceMs(config.maxUploadSeconds * 1000);
      const startSweeps = () => startOrphanSweeps(
        { blobStore, clock, graceMs, isReferenced: async (key) => (await store.hasBlobKey(key)) || (await s3.ctx.store.hasPartBlobKey(key)) },
        {
          intervalMs: orphanSweepIntervalMs(graceMs),
          onReport: async (report) => {
            await audit.record({
              time: clock(),
              requestId: newId('swp'),
              actor: null,
              action: 'vault:sweep-orphans',
              resource: 'blobs/objects',
              decision: 'allow',
              policies: [],
              outcome: 'success',
              context: { removed: report.removed.length, scanned: report.scanned, keys: report.removed.slice(0, 50) },
            });
          },
          onError: (err) => warn('orphaned blob sweep failed', { code: (err as { code?: string }).code ?? 'unknown', message: (err as Error).message }),
        },
      );
      leases.run('orphan-blobs', () => {
        const sweeps = startSweeps();
        return () => sweeps.close();
      });
    }
    {
      // monitoring, access reviews, least-privilege recommendations (docs/monitoring.md)
      const m = monitor.attach({
        deps: service.deps,
        gate: service.gate,
        audit,
        unlockCheck: freshAuthenticationCheck(config.access.stepUpMaxAgeSeconds),
        revokeCredentials: async (id, at, reason) => totalRevoked(await identity.lineage.revokePrincipal(id, at, reason)),
      });
      routes.push(monitorRoutes(m.monitor, m.reviews));
      onClose.push(() => monitor.close());
      leases.run('monitor', () => monitor.lead());
    }
    // jobs start once everything is built; stopped first at close (hooks run in reverse)
    await leases.start();
    onClose.push(() => leases.close());
    return {
      service,
      store,
      blobStore,
      keyring,
      audit,
      policy,
      setupToken,
      routes,
      publicRoutes,
      identity,
      s3,
      access,
      onClose,
      monitor,
      metricRegistries: [monitor.registry],
      scanner,
      readiness: new Readiness({ store, blobStore, blobsReady: () => blobs.ready(), clock, warn }),
      changes,
      leases,
      close: async () => {
        for (const hook of onClose.reverse()) await hook().catch(() => undefined);
        // the coalesced counts of unauthenticated traffic reach the chain before it closes,
        // then a last checkpoint witnesses the whole chain of a stopped server
        await service.requests.close().catch(() => undefined);
        await audit.shutdown().catch(() => undefined);
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** How often the node holding the `audit-checkpoints` lease checks whether a checkpoint is due (ms). */
const AUDIT_CHECKPOINT_JOB_MS = 5000;

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
