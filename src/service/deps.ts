import type { AuditLog } from '../audit/audit-event.js';
import type { Artifact, ArtifactVersion, Environment } from '../domain/types.js';
import type { DeviceProof, Identity } from '../identity/index.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { CatalogCandidates } from '../store/policy-store.js';
import type { Vault } from '../vault/vault.js';
import type { InflightRegistry } from './download-slot.js';

/** Everything the use cases need; built by the composition root (src/main.ts). */
export interface ServiceDeps {
  store: MetadataStore;
  vault: Vault;
  audit: AuditLog;
  policy: PolicyEngine;
  /** Epoch ms. Injectable so expiry can be tested at its boundary. */
  clock: () => number;
  settings: {
    /** Default API token lifetime in seconds (0 = none). */
    tokenTtlSeconds: number;
    maxUploadBytes: number;
    /**
     * Unauthenticated traffic per source and minute: refusals before 429, and refusals
     * recorded one by one before the rest are coalesced (service/request-audit.ts).
     * Default 120 and 20.
     */
    unauthenticated?: { refusalsPerMinute: number; recordedPerMinute: number };
  };
  /** Reports failures that must not change a response (e.g. a completion record after the act). */
  warn: (message: string, detail: Record<string, unknown>) => void;
  /** Rewraps every data key under the current KEK term; returns how many were rewrapped. */
  rewrapAllKeys: () => Promise<number>;
  /** Sessions, access tokens, MFA and devices (src/identity); absent = API tokens only. */
  identity?: Identity;
  /**
   * The environment a version has reached by promotion (src/service/access); absent = its
   * artifact's. Policies see a version in this environment (prod rules apply to it).
   */
  versionEnvironment?: (version: ArtifactVersion, artifact: Artifact) => Promise<Environment>;
  /** Ids of the versions of an artifact promoted to `environment` (src/service/access); absent = none are. */
  versionsPromotedTo?: (artifactId: string, environment: Environment) => Promise<string[]>;
  /** Downloads in flight by principal, so a lock can cut them (src/monitor; see download-slot.ts); absent = not tracked. */
  inflight?: InflightRegistry;
  /** Called after a new version is committed (REST or S3): the gate's scanner is nudged (src/service/scan). */
  versionCommitted?: (version: ArtifactVersion) => void;
  /** Makes sure a version has its gate verdict, scanning it now if needed (promotion asks before deciding). */
  settleScan?: (versionId: string) => Promise<void>;
  /** Catalog rows by id, so listings read only the rows a listing plan names (src/service/policy); absent = row by row. */
  catalogCandidates?: CatalogCandidates;
}

/** Transport facts about one request; never holds a secret. */
export interface RequestMeta {
  requestId: string;
  sourceIp: string;
  userAgent: string;
  /** A managed-device proof sent with the request (signature, not a secret). */
  device?: DeviceProof;
  /** DER of the TLS client certificate the connection presented (public; verified by identity against the device CA). */
  clientCertificate?: Buffer;
}
