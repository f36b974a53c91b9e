import { ENVIRONMENTS } from '../domain/types.js';
import type { Environment } from '../domain/types.js';

/** Position of an environment in the promotion order dev < staging < prod. */
export function environmentRank(env: Environment): number {
  return ENVIRONMENTS.indexOf(env);
}

/** The higher of two environments. */
export function higherEnvironment(a: Environment, b: Environment): Environment {
  return environmentRank(a) >= environmentRank(b) ? a : b;
}

/**
 * The environment a version may be promoted to from `current`: exactly the next one
 * (dev -> staging -> prod, no skipping), or null when it is already in prod.
 */
export function nextEnvironment(current: Environment): Environment | null {
  return ENVIRONMENTS[environmentRank(current) + 1] ?? null;
}
