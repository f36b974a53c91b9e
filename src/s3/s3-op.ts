import type { Action, ResourceRef } from '../policy/policy-engine.js';
import type { Caller } from '../service/caller.js';
import type { DenyAs, Permit } from '../service/gate.js';
import { Gate } from '../service/gate.js';
import type { ProdEffect } from '../service/prod-guard.js';
import type { S3Authenticated } from './authenticate-s3.js';
import type { S3Context } from './s3-context.js';
import type { S3HttpRequest } from './s3-http.js';

/**
 * The Gate of one S3 request, remembering whether anything was recorded: a request
 * refused before it reached the gate (bad XML, unsupported operation) is then recorded
 * by the dispatcher, so every S3 request leaves an audit record.
 */
export class TrackedGate extends Gate {
  /** True once an attempt or refusal was recorded for this request. */
  recorded = false;

  override async enter(caller: Caller, action: Action, resource: ResourceRef, resourceName: string, denyAs: DenyAs | null, details?: Record<string, unknown>, effect?: ProdEffect): Promise<Permit> {
    try {
      return await super.enter(caller, action, resource, resourceName, denyAs, details, effect);
    } finally {
      this.recorded = true;
    }
  }

  override async refuse(caller: Caller | null, meta: Caller['meta'], action: string, resourceName: string, err: Error & { code: string }): Promise<never> {
    try {
      return await super.refuse(caller, meta, action, resourceName, err);
    } finally {
      this.recorded = true;
    }
  }
}

/** One authenticated S3 operation being served. */
export interface S3Op {
  ctx: S3Context;
  gate: TrackedGate;
  http: S3HttpRequest;
  auth: S3Authenticated;
  caller: Caller;
  /** The S3 operation name (`PutObject`), recorded in audit details. */
  name: string;
  bucket: string;
  /**
   * The object's canonical artifact name (s3-names.ts artifactNameOf), null for bucket
   * operations: what the catalog, policy and audit see. Never echoed to the client as a key.
   */
  key: string | null;
  /** The S3 object key as the client sent it, null for bucket operations: what answers echo. */
  s3Key: string | null;
  /** What a NotFoundError means for this operation (NoSuchKey, NoSuchBucket, NoSuchUpload). */
  notFound: string;
}

/** The first value of query parameter `name`, or undefined. */
export function param(op: S3Op, name: string): string | undefined {
  return op.auth.query.find((p) => p.name === name)?.value;
}

/** True if query parameter `name` is present (with or without a value). */
export function hasParam(op: S3Op, name: string): boolean {
  return op.auth.query.some((p) => p.name === name);
}

/** Audit details of this operation. */
export function details(op: S3Op, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { s3: op.name, auth: op.auth.scheme, ...extra };
}
