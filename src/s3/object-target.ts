import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import type { Artifact, Project } from '../domain/types.js';
import { names, notFoundMessage } from '../service/resources.js';
import type { S3Op } from './s3-op.js';

/** The bucket and key of an object operation, as far as the caller may see them. */
export interface ObjectTarget {
  project: Project;
  /** The key's artifact if the caller may see it; null when it is missing or hidden (the two are one case). */
  artifact: Artifact | null;
  /** True when the key names an artifact the caller may not see: a write cannot create it (see refuseTaken). */
  taken: boolean;
}

/**
 * Resolves the bucket and key of an object operation before anything else about it is
 * checked or read. A bucket that does not exist and a bucket the caller may not see
 * (no read-metadata on its project, and the key names nothing it may see) are refused
 * alike, as NoSuchBucket with the same message; a key the caller may not see is
 * returned as missing (`artifact` null), so every later step answers it as it answers
 * a key that does not exist. Refusals are recorded.
 */
export async function objectTarget(op: S3Op, action: string): Promise<ObjectTarget> {
  const key = op.key!;
  const resourceName = names.artifact(op.bucket, key);
  const refuseBucket = (): Promise<never> => {
    op.notFound = 'NoSuchBucket';
    return op.gate.refuse(op.caller, op.caller.meta, action, resourceName, new NotFoundError(notFoundMessage.project(op.bucket)));
  };
  const project = await op.ctx.deps.store.getProjectByName(op.bucket);
  if (project === null) return refuseBucket();
  const found = await op.ctx.deps.store.getArtifactByName(project.id, key);
  const visible = found !== null && op.gate.decide(op.caller, 'read-metadata', { kind: 'artifact', project, artifact: found }).allowed;
  // INVARIANT: hidden equals missing: a bucket the caller cannot see at all is a bucket that does not exist
  if (!visible && !op.gate.decide(op.caller, 'read-metadata', { kind: 'project', project }).allowed) return refuseBucket();
  return { project, artifact: visible ? found : null, taken: found !== null && !visible };
}

/**
 * Refuses a write to a key taken by an object the caller may not see. A free key would
 * be created, so this cannot answer like a missing key; it answers AccessDenied, as for
 * a key the caller sees but may not write, and tells nothing more (docs/security.md).
 */
export function refuseTaken(op: S3Op, action: string): Promise<never> {
  const resourceName = names.artifact(op.bucket, op.key!);
  return op.gate.refuse(op.caller, op.caller.meta, action, resourceName, new ForbiddenError(`access denied: \`${action}\` on \`${resourceName}\``));
}
