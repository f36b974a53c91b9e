import { RateLimitedError } from '../domain/errors.js';
import type { IdentityStore, ThrottleCounting } from '../store/identity-store.js';

/** Limits of one throttle key: free failures in a window, then exponential blocking. */
export interface ThrottleRule {
  /** Attempts within `windowMs` after which the key is blocked (the last free one sets the block). */
  freeFailures: number;
  windowMs: number;
  /** First block; doubles with each further counted attempt, up to `maxBlockMs`. */
  baseBlockMs: number;
  maxBlockMs: number;
}

/** Per account: blocked after 5 failures in 15 minutes, 1 minute doubling up to 15 minutes. */
export const ACCOUNT_RULE: ThrottleRule = { freeFailures: 5, windowMs: 15 * 60_000, baseBlockMs: 60_000, maxBlockMs: 15 * 60_000 };
/** Per source address: blocked after 30 failures in 15 minutes (NAT'd offices share one), 1 minute doubling up to 1 hour. */
export const ADDRESS_RULE: ThrottleRule = { freeFailures: 30, windowMs: 15 * 60_000, baseBlockMs: 60_000, maxBlockMs: 60 * 60_000 };
/**
 * Per account, second factors (TOTP, recovery codes, security keys): blocked after 5
 * failures in a day, 1 minute doubling up to 1 hour. Only a successful second factor
 * clears it, never a correct password, so knowing the password buys about 30 guesses a
 * day at most (a TOTP code: one chance in 10^4 a day), from any number of addresses.
 */
export const SECOND_FACTOR_RULE: ThrottleRule = { freeFailures: 5, windowMs: 24 * 3600_000, baseBlockMs: 60_000, maxBlockMs: 3600_000 };

/** One reserved attempt: give it to {@link LoginThrottle.succeeded} when it succeeds; a failure needs nothing (it stays counted). */
export interface ThrottleTicket {
  /** The key a success clears (the account's, or the principal's second-factor key). */
  readonly clears: string;
  /** The keys a success gives the attempt back to (the address), with the block the reservation set. */
  readonly gives: ReadonlyArray<{ key: string; blockedUntil: number }>;
}

function countingOf(rule: ThrottleRule): ThrottleCounting {
  const blocksMs: number[] = [];
  for (let b = rule.baseBlockMs; ; b *= 2) {
    blocksMs.push(Math.min(b, rule.maxBlockMs));
    if (b >= rule.maxBlockMs || blocksMs.length >= 20) break;
  }
  return { windowMs: rule.windowMs, free: rule.freeFailures, blocksMs };
}

/**
 * Login throttling, kept in the identity store so every node counts the same. Each
 * attempt is RESERVED before any password or code is verified: one atomic statement per
 * key counts it and, when it reaches the limit, blocks the key for the following ones
 * (src/store/sql/identity-sql-store.ts reserveThrottle). A burst of concurrent attempts
 * therefore gets at most the free ones verified, on one node or many; a failure stays
 * counted, a success clears its key.
 *
 * Keys: `account:<name as submitted>` (so an unknown name is throttled exactly like a
 * real one) and `address:<ip>` for passwords; `second-factor:<principal id>` and the
 * address for second factors. A correct password clears only the account key.
 */
export class LoginThrottle {
  readonly #counting: { account: ThrottleCounting; address: ThrottleCounting; secondFactor: ThrottleCounting };

  constructor(
    private readonly store: IdentityStore,
    rules: { account: ThrottleRule; address: ThrottleRule; secondFactor: ThrottleRule } = { account: ACCOUNT_RULE, address: ADDRESS_RULE, secondFactor: SECOND_FACTOR_RULE },
  ) {
    this.#counting = { account: countingOf(rules.account), address: countingOf(rules.address), secondFactor: countingOf(rules.secondFactor) };
  }

  /** Reserves a password attempt (address, then account); throws RateLimitedError while either is blocked. */
  reservePassword(accountName: string, sourceIp: string, now: number): Promise<ThrottleTicket> {
    return this.reserve(`account:${accountName.normalize('NFKC').toLowerCase().slice(0, 200)}`, this.#counting.account, sourceIp, now);
  }

  /** Reserves a second-factor attempt of a principal (address, then the principal's key); throws RateLimitedError while either is blocked. */
  reserveSecondFactor(principalId: string, sourceIp: string, now: number): Promise<ThrottleTicket> {
    return this.reserve(`second-factor:${principalId}`, this.#counting.secondFactor, sourceIp, now);
  }

  /** The attempt succeeded: its key is cleared, the address gets the attempt back. */
  async succeeded(ticket: ThrottleTicket): Promise<void> {
    await this.store.deleteThrottle(ticket.clears);
    for (const g of ticket.gives) await this.store.releaseThrottle(g.key, g.blockedUntil);
  }

  private async reserve(key: string, counting: ThrottleCounting, sourceIp: string, now: number): Promise<ThrottleTicket> {
    const addressKey = `address:${sourceIp}`;
    const address = await this.store.reserveThrottle(addressKey, now, this.#counting.address);
    if (!address.counted) throw limited('address', address.blockedUntil, now);
    const own = await this.store.reserveThrottle(key, now, counting);
    // INVARIANT: nothing is verified for an attempt that was not counted
    if (!own.counted) throw limited(key.slice(0, key.indexOf(':')), own.blockedUntil, now);
    return { clears: key, gives: [{ key: addressKey, blockedUntil: address.blockedUntil }] };
  }
}

function limited(what: string, until: number, now: number): RateLimitedError {
  return new RateLimitedError('too many failed attempts: try again later', { detail: `throttled ${what} for ${Math.ceil((until - now) / 1000)} s` });
}
