import { SelfApprovalError } from '../domain/errors.js';
import type { Principal } from '../domain/types.js';

/** Finds a principal by id (null if gone). */
export type PrincipalLookup = (id: string) => Promise<Principal | null>;

/** Owner chains are never longer than this (a longer one is cut, and counts as shared: fail closed). */
const MAX_OWNER_DEPTH = 16;

/**
 * The owner chain of a principal: itself, its owner, its owner's owner... A person and
 * the service accounts they own (and those accounts' own, were there any) form one
 * party. Cycle-safe; `truncated` when the chain was cut at the bound.
 */
export async function ownerChain(lookup: PrincipalLookup, start: Principal | string): Promise<{ ids: Set<string>; root: string; truncated: boolean }> {
  const ids = new Set<string>();
  let root = typeof start === 'string' ? start : start.id;
  let current: Principal | null = typeof start === 'string' ? await lookup(start) : start;
  ids.add(root);
  for (let depth = 0; current !== null; depth++) {
    if (current.ownerId === null || ids.has(current.ownerId)) break;
    if (depth >= MAX_OWNER_DEPTH) return { ids, root, truncated: true };
    root = current.ownerId;
    ids.add(root);
    current = await lookup(root);
  }
  return { ids, root, truncated: false };
}

/** The party of a principal: the root of its owner chain (the person behind a service account). */
export async function partyOf(lookup: PrincipalLookup, principal: Principal): Promise<string> {
  return (await ownerChain(lookup, principal)).root;
}

/**
 * Four eyes: why `approver` may not decide on something that belongs to `holderId`
 * (an access, promotion or share request's requester, a break-glass to sign off, a
 * device to approve), or null. Refused when they are the same principal, or when their
 * owner chains meet, walked transitively in both directions: a person and their own
 * service account, two service accounts of one owner (siblings), any deeper nesting.
 * The one check every approval path uses.
 */
export async function fourEyesViolation(lookup: PrincipalLookup, approver: Principal, holderId: string, what: string): Promise<SelfApprovalError | null> {
  if (approver.id === holderId) return new SelfApprovalError(`${what} cannot be decided by the principal it belongs to`);
  const mine = await ownerChain(lookup, approver);
  const theirs = await ownerChain(lookup, holderId);
  // INVARIANT: a person and everything they own count as one party; an unknowable chain counts as shared
  const shared = mine.truncated || theirs.truncated || [...theirs.ids].some((id) => mine.ids.has(id));
  if (shared) return new SelfApprovalError(`${what} cannot be decided by the same party: approver and holder share an owner (a person and their service accounts count as one)`);
  return null;
}
