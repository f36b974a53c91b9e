import { WeakPasswordError } from '../domain/errors.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

/** Shortest password accepted (NIST SP 800-63B asks at least 8; Coffer guards model weights). */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted, in characters (bounds the hashing work a request can ask for). */
export const MAX_PASSWORD_LENGTH = 256;

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's', '!': 'i', '+': 't' };
const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', '0123456789', 'qwertyuiopasdfghjklzxcvbnm', '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p'];

/**
 * Checks a new password: length, breached and guessable patterns (the built-in list of
 * common passwords after undoing the usual variations, the account name, repeats and
 * keyboard or alphabet runs). Throws WeakPasswordError naming the rule, never the
 * password. Checked on set only; login compares hashes and says nothing about rules.
 */
export function checkPasswordPolicy(password: string, context: { names: string[] }): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) throw new WeakPasswordError(`password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH) throw new WeakPasswordError(`password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rule refuses
  if (/[\u0000-\u001f\u007f]/.test(password)) throw new WeakPasswordError('password must not contain control characters');
  const lower = password.normalize('NFKC').toLowerCase();
  if (new Set(lower).size < 5) throw new WeakPasswordError('password repeats too few distinct characters');
  for (const candidate of variants(lower)) {
    if (COMMON_PASSWORDS.has(candidate)) throw new WeakPasswordError('password is on the list of commonly breached passwords');
    if (isRepetition(candidate)) throw new WeakPasswordError('password is a repeated pattern');
    if (isRun(candidate)) throw new WeakPasswordError('password is a keyboard or alphabet sequence');
  }
  for (const name of context.names) {
    const n = name.toLowerCase();
    if (n.length >= 3 && [...variants(lower)].some((v) => v.includes(n))) throw new WeakPasswordError('password must not contain the account name');
  }
}

/** The password and the forms breached-password variations reduce to. */
function variants(lower: string): Set<string> {
  const out = new Set<string>([lower]);
  const deleet = (v: string) => [...v].map((c) => LEET[c] ?? c).join('');
  // `Summer2024!`, `!!password123`: strip digits and symbols around a word, before and after undoing leetspeak
  const core = lower.replace(/^[^a-z]+|[^a-z]+$/g, '');
  for (const v of [lower, deleet(lower), core, deleet(core)]) {
    if (v.length === 0) continue;
    out.add(v);
    out.add(v.replace(/^[^a-z]+|[^a-z]+$/g, ''));
    const letters = v.replace(/[^a-z]/g, '');
    if (letters.length >= 4) out.add(letters);
  }
  out.delete('');
  return out;
}

function isRepetition(s: string): boolean {
  for (let unit = 1; unit <= s.length / 2; unit++) {
    if (s.length % unit === 0 && s.slice(0, unit).repeat(s.length / unit) === s) return true;
  }
  return false;
}

function isRun(s: string): boolean {
  if (s.length < 4) return false;
  return SEQUENCES.some((seq) => {
    const reversed = [...seq].reverse().join('');
    return seq.repeat(3).includes(s) || reversed.repeat(3).includes(s);
  });
}
