import type { Grant, Principal } from '../domain/types.js';
import type { MetadataStore } from '../store/metadata-store.js';

/** A principal with its transitive groups and every grant that applies to it now. */
export interface ResolvedSubject {
  principal: Principal;
  groupIds: string[];
  grants: Grant[];
}

const MAX_GROUP_DEPTH = 16;

/**
 * Expands group membership transitively (bounded, cycle-safe) and loads the grants of
 * the principal and its groups. Grants past their expiry are dropped here and are also
 * checked again by policy at decision time.
 */
export async function resolveSubject(store: MetadataStore, principal: Principal, now: number): Promise<ResolvedSubject> {
  const groups = new Set<string>();
  let frontier = [principal.id];
  for (let depth = 0; depth < MAX_GROUP_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const g of await store.listGroupsOf(id)) {
        if (!groups.has(g) && g !== principal.id) {
          groups.add(g);
          next.push(g);
        }
      }
    }
    frontier = next;
  }
  const groupIds = [...groups];
  const grants = (await store.listGrantsForPrincipals([principal.id, ...groupIds])).filter(
    (g) => g.expiresAt === null || g.expiresAt > now,
  );
  return { principal, groupIds, grants };
}
