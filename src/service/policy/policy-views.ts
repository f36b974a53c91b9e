import type { ActivePolicy, PolicySource } from '../../policy/index.js';
import type { PolicyActivationRecord, PolicyVersionSummary } from '../../store/policy-store.js';

/** A stored version of the custom policy set, as the API shows it. */
export interface PolicyVersionView {
  version: number;
  digest: string;
  policies: number;
  message: string;
  createdBy: string;
  createdAt: string;
  active: boolean;
}

/** The policy set a node serves. */
export interface ActivePolicyView {
  /** 0 = the built-in set alone. */
  version: number;
  activation: number;
  digest: string;
  /** Set while this node cannot load the active version (only policy management is served). */
  failure?: string;
}

/** One activation (apply or rollback). */
export interface PolicyActivationView {
  seq: number;
  version: number;
  kind: 'apply' | 'rollback';
  activatedBy: string;
  activatedAt: string;
}

/** A version with its sources. */
export interface PolicyVersionDetail {
  version: number;
  /** Sources of the custom set, or for version 0 the built-in sources. */
  sources: PolicySource[];
  /** The policies of the sources with their positions. */
  policies: { id: string; at: string }[];
  digest: string;
  message: string;
  createdBy: string | null;
  createdAt: string | null;
  active: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function activeView(a: ActivePolicy): ActivePolicyView {
  return { version: a.version, activation: a.activation, digest: a.digest, ...(a.failure !== undefined ? { failure: a.failure } : {}) };
}

export function versionView(v: PolicyVersionSummary, createdBy: string, activeVersion: number): PolicyVersionView {
  return { version: v.version, digest: v.digest, policies: v.policyCount, message: v.message, createdBy, createdAt: iso(v.createdAt), active: v.version === activeVersion };
}

export function activationView(a: PolicyActivationRecord, by: string): PolicyActivationView {
  return { seq: a.seq, version: a.version, kind: a.kind, activatedBy: by, activatedAt: iso(a.activatedAt) };
}
