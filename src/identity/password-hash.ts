import { Algorithm, hash, verify } from '@node-rs/argon2';
import { MAX_PASSWORD_LENGTH } from './password-policy.js';

/**
 * argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): about
 * 20-40 ms a hash on one core, which bounds a guessing attack on a stolen database.
 * The PHC string carries the parameters, so they can be raised without a migration.
 */
const PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;

/** A hash to verify against when the account does not exist, so both paths cost the same. */
let dummy: Promise<string> | null = null;

/** The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of a password. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

/**
 * Checks a password against a stored PHC string. With `stored` null (unknown account, no
 * password set) a dummy hash is verified anyway and the answer is false, so timing does
 * not tell whether the account exists. argon2's own comparison is constant-time.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  // overlong input is refused before hashing: it could only be an attack on CPU time
  const given = [...password].length > MAX_PASSWORD_LENGTH ? '' : password;
  if (stored === null) {
    dummy ??= hash('coffer-dummy-password-for-timing', PARAMS);
    await verify(await dummy, given).catch(() => false);
    return false;
  }
  try {
    return given !== '' && (await verify(stored, given));
  } catch {
    // a malformed stored hash is a failed check, never an exception that could differ in timing
    return false;
  }
}
