/**
 * Authorization of a request given in Cedar's JSON forms (as cedar-wasm's
 * `isAuthorized` takes it): parse the entities and context (against the schema if
 * given), validate the request against the schema, then authorize.
 */
import type { Env } from './compile-expr.js';
import type { AuthorizationResult, CompiledPolicySet } from './compiled-policy-set.js';
import { EntityStore } from './entity-store.js';
import { CedarRequestError, checkEnumId, parseEntityUid, parseJsonValue, parseRecord } from './json-values.js';
import type { CedarSchema } from './schema.js';
import type { CedarRecord, EntityUid } from './values.js';

/** A request in Cedar's JSON forms. */
export interface JsonRequest {
  principal: unknown;
  action: unknown;
  resource: unknown;
  context: unknown;
  entities: unknown;
}

/** The answer: a result, or a failure to accept the request (no decision). */
export type JsonAuthorizationAnswer = { type: 'success'; result: AuthorizationResult } | { type: 'failure'; errors: string[] };

/** Parses and validates a JSON request. Throws CedarRequestError. */
export function parseJsonRequest(request: JsonRequest, schema?: CedarSchema): Env {
  // the public input form: whatever arrives is refused, never a TypeError
  if (typeof request !== 'object' || request === null) throw new CedarRequestError('request: expected a JSON object');
  const principal = parseEntityUid(request.principal, 'principal');
  const action = parseEntityUid(request.action, 'action');
  const resource = parseEntityUid(request.resource, 'resource');
  const entities = EntityStore.fromJson(request.entities, schema);
  const ctxJson = request.context === undefined ? {} : request.context;
  if (typeof ctxJson !== 'object' || ctxJson === null || Array.isArray(ctxJson)) throw new CedarRequestError('context: expected a JSON object');
  let context: CedarRecord;
  if (schema === undefined) {
    // as Cedar: the context is a value that must turn out a record (`{"__extn": ...}` is not one)
    const value = parseJsonValue(ctxJson, undefined, undefined, 'context');
    if (!(value instanceof Map)) throw new CedarRequestError('context: expected a record');
    context = value;
  } else {
    context = validateAgainstSchema(schema, principal, action, resource, ctxJson as Record<string, unknown>);
  }
  return { principal, action, resource, context, entities, slotPrincipal: undefined, slotResource: undefined };
}

function validateAgainstSchema(schema: CedarSchema, principal: EntityUid, action: EntityUid, resource: EntityUid, ctx: Record<string, unknown>): CedarRecord {
  const def = schema.actions.get(action.key);
  if (def === undefined) throw new CedarRequestError(`request's action \`${action.key}\` is not declared in the schema`);
  if (def.appliesTo === null) throw new CedarRequestError(`action \`${action.key}\` does not apply to any principal or resource`);
  for (const [uid, allowed, what] of [[principal, def.appliesTo.principals, 'principal'], [resource, def.appliesTo.resources, 'resource']] as const) {
    if (!schema.entityTypes.has(uid.type)) throw new CedarRequestError(`${what} type \`${uid.type}\` is not declared in the schema`);
    if (!allowed.has(uid.type)) throw new CedarRequestError(`${what} type \`${uid.type}\` is not valid for \`${action.key}\``);
    checkEnumId(uid, schema, what);
  }
  return parseRecord(ctx, def.appliesTo.context, schema, 'context');
}

/** Authorizes a JSON request; a request that does not parse or validate is a failure. */
export function authorizeJsonRequest(set: CompiledPolicySet, request: JsonRequest, schema?: CedarSchema): JsonAuthorizationAnswer {
  let env: Env;
  try {
    env = parseJsonRequest(request, schema);
  } catch (err) {
    if (err instanceof CedarRequestError) return { type: 'failure', errors: [err.message] };
    throw err;
  }
  return { type: 'success', result: set.authorize(env) };
}
