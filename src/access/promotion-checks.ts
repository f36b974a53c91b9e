import type { Readable } from 'node:stream';
import type { Artifact, ArtifactVersion, Environment, Project } from '../domain/types.js';

/** What a promotion check sees. `open()` streams the plaintext through the vault. */
export interface PromotionCheckInput {
  project: Project;
  artifact: Artifact;
  version: ArtifactVersion;
  from: Environment;
  to: Environment;
  open: () => Promise<Readable>;
  signal: AbortSignal;
}

/** A check's verdict; `detail` is shown to the caller and recorded (never secrets). */
export interface PromotionCheckResult {
  ok: boolean;
  detail?: string;
}

/**
 * A gate a version must pass to be promoted (the DLP issue adds a content scan).
 * A check that throws counts as failed: fail closed.
 */
export interface PromotionCheck {
  /** Stable name, recorded with the promotion (`digest` is taken by the built-in check). */
  readonly name: string;
  /** Environments it applies to (all when absent). */
  readonly environments?: readonly Environment[];
  run(input: PromotionCheckInput): Promise<PromotionCheckResult>;
}

/** The registry of promotion checks; empty by default (the digest check is built in). */
export class PromotionCheckRegistry {
  readonly #checks = new Map<string, PromotionCheck>();

  /** Adds a check; a second check with the same name replaces the first. */
  register(check: PromotionCheck): void {
    if (check.name === 'digest') throw new Error('the check name `digest` is reserved');
    this.#checks.set(check.name, check);
  }

  unregister(name: string): void {
    this.#checks.delete(name);
  }

  /** The checks that apply to a promotion to `to`, in registration order. */
  for(to: Environment): PromotionCheck[] {
    return [...this.#checks.values()].filter((c) => c.environments === undefined || c.environments.includes(to));
  }
}
