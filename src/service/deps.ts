import type { AuditLog } from '../audit/audit-event.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { Vault } from '../vault/vault.js';

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
  };
  /** Reports failures that must not change a response (e.g. a completion record after the act). */
  warn: (message: string, detail: Record<string, unknown>) => void;
  /** Rewraps every data key under the current KEK term; returns how many were rewrapped. */
  rewrapAllKeys: () => Promise<number>;
}

/** Transport facts about one request; never holds a secret. */
export interface RequestMeta {
  requestId: string;
  sourceIp: string;
  userAgent: string;
}
