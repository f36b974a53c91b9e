import type { Keyring } from '../crypto/index.js';
import type { Tier } from '../domain/types.js';
import type { Gate } from '../service/gate.js';
import type { ServiceDeps } from '../service/deps.js';
import type { S3Store } from '../store/s3-store.js';

/** Everything the S3 use cases need; built once by the composition root. */
export interface S3Context {
  /** The core's dependencies (catalog store, vault, audit, policy, clock). */
  deps: ServiceDeps;
  /** The shared authorize -> audit gate. */
  gate: Gate;
  store: S3Store;
  /** Wraps and unwraps credential secrets (like data keys). */
  keyring: Keyring;
  /** Region reported to clients (HeadBucket, GetBucketLocation); any region is accepted in signatures. */
  region: string;
  /** Tier of artifacts created by a first PUT without `x-amz-meta-coffer-tier`. */
  defaultTier: Tier;
  /** Smallest part of a multipart upload but the last (AWS: 5 MiB). */
  minPartSize: number;
  /**
   * Users' token-derived credentials carry `step-up-enforced` (config
   * `requireStepUpForUserTokens`), so S3 access keys never bypass the WebAuthn rules.
   */
  requireStepUpForUserTokens?: boolean;
}
