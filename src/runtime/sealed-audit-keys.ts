import type { Keyring } from '../crypto/index.js';
import { generateAuditKeys, parseAuditKeys, serializeAuditKeys } from '../audit/index.js';
import type { AuditKeys } from '../audit/index.js';
import type { MetadataStore } from '../store/index.js';

const PARTS = [
  { setting: 'audit-key/hmac', objectId: 'coffer:audit:hmac', offset: 1 },
  { setting: 'audit-key/signing', objectId: 'coffer:audit:signing', offset: 33 },
] as const;
const SERIALIZED_VERSION = 1;

/**
 * The audit keys live in settings, each 32-byte part wrapped by the keyring like a data
 * key (bound to its own id), so they are as safe as artifact data and follow key
 * rotation: parts under an old term are rewrapped here, at every start and rotation.
 */
export async function loadAuditKeys(store: MetadataStore, keyring: Keyring): Promise<AuditKeys> {
  const stored = await Promise.all(PARTS.map((p) => store.getSetting(p.setting)));
  if (stored.every((s) => s === null)) {
    const keys = generateAuditKeys();
    const bytes = serializeAuditKeys(keys);
    try {
      for (const p of PARTS) {
        const { wrappedKey } = keyring.wrapDataKey(p.objectId, bytes.subarray(p.offset, p.offset + 32));
        // compare-and-set: if another node created keys first, use theirs
        if (!(await store.putSetting(p.setting, wrapWithTerm(wrappedKey, keyring.currentTerm), null))) return loadAuditKeys(store, keyring);
      }
    } finally {
      bytes.fill(0);
    }
    return keys;
  }
  const bytes = new Uint8Array(65);
  bytes[0] = SERIALIZED_VERSION;
  try {
    for (const [i, p] of PARTS.entries()) {
      const value = stored[i];
      if (value === null || value === undefined) throw new Error(`audit key part ${p.setting} is missing`);
      const { term, wrapped } = unwrapTerm(value);
      const key = keyring.unwrapDataKey(p.objectId, wrapped, term);
      bytes.set(key, p.offset);
      key.fill(0);
      if (term !== keyring.currentTerm) {
        const next = keyring.rewrapDataKey(wrapped, term);
        await store.putSetting(p.setting, wrapWithTerm(next.wrappedKey, next.keyTerm), value);
      }
    }
    return parseAuditKeys(bytes);
  } finally {
    bytes.fill(0);
  }
}

function wrapWithTerm(wrapped: Uint8Array, term: number): Uint8Array {
  const out = Buffer.alloc(4 + wrapped.length);
  out.writeUInt32BE(term, 0);
  out.set(wrapped, 4);
  return out;
}

function unwrapTerm(value: Uint8Array): { term: number; wrapped: Uint8Array } {
  const b = Buffer.from(value);
  return { term: b.readUInt32BE(0), wrapped: b.subarray(4) };
}
