import { timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../store/metadata-store.js';
import { generateToken, hashToken, parseToken } from './token-format.js';
import { SetupTokenInvalidError } from '../domain/errors.js';

const SETTING = 'setup-token-hash';

/**
 * Until the admins group has a member, a one-time setup token is created at every
 * start, its hash stored, and the secret returned for printing. Returns null once an
 * admin exists.
 */
export async function prepareSetupToken(store: MetadataStore, adminsGroupId: string): Promise<string | null> {
  if ((await store.listMembers(adminsGroupId)).length > 0) {
    await store.deleteSetting(SETTING);
    return null;
  }
  // a fresh token at every start before bootstrap: an old printed one stops working
  const secret = generateToken('setup');
  await store.putSetting(SETTING, Buffer.from(hashToken(secret), 'hex'));
  return secret;
}

/**
 * Consumes the setup token: constant-time check against the stored hash, then a
 * compare-and-set delete so two concurrent bootstraps cannot both succeed.
 */
export async function consumeSetupToken(store: MetadataStore, secret: string): Promise<void> {
  const stored = await store.getSetting(SETTING);
  if (stored === null || parseToken(secret) !== 'setup') throw new SetupTokenInvalidError();
  const given = Buffer.from(hashToken(secret), 'hex');
  if (given.length !== stored.length || !timingSafeEqual(given, Buffer.from(stored))) throw new SetupTokenInvalidError();
  // INVARIANT: exactly one caller wins the swap from the stored hash to the "used" marker
  const won = await store.putSetting(SETTING, Buffer.from('used'), stored);
  if (!won) throw new SetupTokenInvalidError();
}
