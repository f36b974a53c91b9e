import { ValidationError } from '../domain/errors.js';

/** SCIM 2.0 schema URNs (RFC 7643, 7644). */
export const SCIM = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

/** A filter Coffer answers: `attribute eq "value"` (what Okta and Azure AD send). */
export interface ScimFilter {
  attribute: string;
  value: string;
}

/**
 * Parses a SCIM filter. Supported: `<attr> eq "<value>"` with attr `userName`,
 * `externalId`, `displayName`, `id` (case-insensitive names, JSON string escapes in the
 * value). Anything else is a 400 with scimType `invalidFilter`.
 */
export function parseScimFilter(filter: string): ScimFilter {
  const m = /^\s*([A-Za-z][A-Za-z0-9.:]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i.exec(filter);
  if (!m) throw new ValidationError('unsupported filter: use `attribute eq "value"`', { detail: 'scim:invalidFilter' });
  const attr = m[1]!.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i, '');
  const known = ['userName', 'externalId', 'displayName', 'id'].find((a) => a.toLowerCase() === attr.toLowerCase());
  if (known === undefined) throw new ValidationError(`unsupported filter attribute \`${attr.slice(0, 60)}\``, { detail: 'scim:invalidFilter' });
  return { attribute: known, value: JSON.parse(m[2]!) as string };
}

/** One PATCH operation, normalized (op lowercased). */
export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

/** Validates a PatchOp body (RFC 7644 §3.5.2); Azure AD's capitalized ops are accepted. */
export function parsePatch(body: unknown): PatchOperation[] {
  const b = body as { schemas?: unknown; Operations?: unknown };
  if (typeof b !== 'object' || b === null || !Array.isArray(b.Operations)) throw new ValidationError('PATCH needs `Operations`', { detail: 'scim:invalidSyntax' });
  return b.Operations.map((o: { op?: unknown; path?: unknown; value?: unknown }) => {
    const op = typeof o?.op === 'string' ? o.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new ValidationError('PATCH op must be add, replace or remove', { detail: 'scim:invalidSyntax' });
    if (o.path !== undefined && typeof o.path !== 'string') throw new ValidationError('PATCH path must be a string', { detail: 'scim:invalidPath' });
    return { op, ...(o.path !== undefined ? { path: o.path } : {}), ...(o.value !== undefined ? { value: o.value } : {}) };
  });
}

/** SCIM booleans as identity providers send them (`false`, `"False"`). */
export function scimBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new ValidationError('expected a boolean', { detail: 'scim:invalidValue' });
}

/** The member id of `members[value eq "<id>"]`, if the path has that form. */
export function memberFilterOf(path: string): string | null {
  const m = /^members\s*\[\s*value\s+eq\s+("(?:[^"\\]|\\.)*")\s*\]$/i.exec(path.trim());
  return m ? (JSON.parse(m[1]!) as string) : null;
}

/**
 * A Coffer principal name for a SCIM `userName` or group `displayName`:
 * lowercased, `@` and other characters outside `a-z0-9._-` turned into `.` or `-`,
 * at most 63 characters (a suffix is added by the caller on collision).
 */
export function principalNameFor(scimName: string): string {
  const base = scimName
    .normalize('NFKD')
    .toLowerCase()
    .replace(/@/g, '.')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 56)
    .replace(/[._-]+$/, '');
  return base.length > 0 ? base : 'scim-user';
}
