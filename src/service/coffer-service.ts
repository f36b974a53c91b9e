import * as admin from './admin.js';
import { authenticate } from './authenticate.js';
import type { Caller } from './caller.js';
import * as catalog from './catalog.js';
import type { RequestMeta, ServiceDeps } from './deps.js';
import { CredentialCache } from './credential-cache.js';
import { Gate } from './gate.js';
import { RequestAudit } from './request-audit.js';
import * as transfer from './transfer.js';

type Page = { limit?: number; cursor?: string | null };

/**
 * The use cases of Coffer, each running authenticate -> authorize -> audit -> act.
 * Transports (REST, CLI through REST, later S3) call only this.
 */
export class CofferService {
  /** The authorize -> audit gate; feature services (access, monitoring, S3) share it. */
  readonly gate: Gate;
  /** What every use case writes to the audit log passes through: the requests in flight, unauthenticated traffic per source. */
  readonly requests: RequestAudit;
  /** The dependencies, with `audit` being {@link requests}: feature services built from them record through it too. */
  readonly deps: ServiceDeps;
  /** API tokens' subjects, valid while the store's change version stands (see credential-cache.ts). */
  readonly #credentials = new CredentialCache();

  constructor(deps: ServiceDeps) {
    const limits = deps.settings.unauthenticated ?? { refusalsPerMinute: 120, recordedPerMinute: 20 };
    this.requests =
      deps.audit instanceof RequestAudit
        ? deps.audit
        : new RequestAudit(deps.audit, { clock: deps.clock, warn: deps.warn, anonymous: { refusalsPerWindow: limits.refusalsPerMinute, recordIndividually: limits.recordedPerMinute, windowMs: 60_000 } });
    this.deps = { ...deps, audit: this.requests };
    this.gate = new Gate(this.deps);
  }

  authenticate(bearer: string | undefined, meta: RequestMeta): Promise<Caller> {
    return authenticate(this.deps, this.gate, bearer, meta, this.#credentials);
  }

  bootstrap(meta: RequestMeta, input: { setupToken: string; name: string; displayName?: string; password?: string }) {
    return admin.bootstrap(this.deps, meta, input);
  }
  whoami(caller: Caller) {
    return admin.whoami(this.gate, caller);
  }

  createProject(caller: Caller, input: { name: string; description?: string }) {
    return catalog.createProject(this.deps, this.gate, caller, input);
  }
  listProjects(caller: Caller, page: Page) {
    return catalog.listProjects(this.deps, this.gate, caller, page);
  }
  showProject(caller: Caller, name: string) {
    return catalog.showProject(this.deps, this.gate, caller, name);
  }
  createArtifact(caller: Caller, input: catalog.CreateArtifactInput) {
    return catalog.createArtifact(this.deps, this.gate, caller, input);
  }
  listArtifacts(caller: Caller, project: string, page: Page) {
    return catalog.listArtifacts(this.deps, this.gate, caller, project, page);
  }
  showArtifact(caller: Caller, project: string, artifact: string) {
    return catalog.showArtifact(this.deps, this.gate, caller, project, artifact);
  }

  pushVersion(caller: Caller, input: transfer.PushInput) {
    return transfer.pushVersion(this.deps, this.gate, caller, input);
  }
  showVersion(caller: Caller, project: string, artifact: string, version: string) {
    return transfer.showVersion(this.deps, this.gate, caller, project, artifact, version);
  }
  pullVersion(caller: Caller, input: { project: string; artifact: string; version: string; range?: { start?: number; end?: number; suffix?: number } | undefined; signal?: AbortSignal }): Promise<transfer.PullResult> {
    return transfer.pullVersion(this.deps, this.gate, caller, input);
  }

  createPrincipal(caller: Caller, input: Parameters<typeof admin.createPrincipal>[3]) {
    return admin.createPrincipal(this.deps, this.gate, caller, input);
  }
  listPrincipals(caller: Caller, page: Page) {
    return admin.listPrincipals(this.deps, this.gate, caller, page);
  }
  addMember(caller: Caller, group: string, member: string) {
    return admin.addMember(this.deps, this.gate, caller, group, member);
  }
  setDisabled(caller: Caller, name: string, disabled: boolean) {
    return admin.setDisabled(this.deps, this.gate, caller, name, disabled);
  }
  createToken(caller: Caller, input: { principal?: string; description?: string; ttlSeconds?: number }) {
    return admin.createToken(this.deps, this.gate, caller, input);
  }
  revokeToken(caller: Caller, tokenId: string) {
    return admin.revokeToken(this.deps, this.gate, caller, tokenId);
  }
  listCredentials(caller: Caller, principal?: string) {
    return admin.listCredentials(this.deps, this.gate, caller, principal);
  }
  createGrant(caller: Caller, input: admin.GrantInput) {
    return admin.createGrant(this.deps, this.gate, caller, input);
  }
  revokeGrant(caller: Caller, grantId: string) {
    return admin.revokeGrant(this.deps, this.gate, caller, grantId);
  }
  listGrants(caller: Caller, input: { project: string; artifact?: string; version?: number }) {
    return admin.listGrants(this.deps, this.gate, caller, input);
  }
  rotateKeys(caller: Caller) {
    return admin.rotateKeys(this.deps, this.gate, caller);
  }
  rotateRootKey(caller: Caller) {
    return admin.rotateRootKey(this.deps, this.gate, caller);
  }
  verifyAudit(caller: Caller, checkpoint?: { seq: number; hash: string; signature: string }) {
    return admin.verifyAudit(this.deps, this.gate, caller, checkpoint);
  }
  checkpointAudit(caller: Caller) {
    return admin.checkpointAudit(this.deps, this.gate, caller);
  }
  exportAudit(caller: Caller, fromSeq: number) {
    return admin.exportAudit(this.deps, this.gate, caller, fromSeq);
  }
}

