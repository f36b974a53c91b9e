import { RateLimitedError } from '../domain/errors.js';
import type { IdentityStore, ThrottleRecord } from '../store/identity-store.js';

/** Limits of one throttle key: free failures in a window, then exponential blocking. */
export interface ThrottleRule {
  /** Failures within `windowMs` after which attempts are blocked. */
  freeFailures: number;
  windowMs: number;
  /** First block; doubles with each further failure, up to `maxBlockMs`. */
  baseBlockMs: number;
  maxBlockMs: number;
}

/** Per account: blocked after 5 failures in 15 minutes, 1 minute doubling up to 15 minutes. */
export const ACCOUNT_RULE: ThrottleRule = { freeFailures: 5, windowMs: 15 * 60_000, baseBlockMs: 60_000, maxBlockMs: 15 * 60_000 };
/** Per source address: blocked after 30 failures in 15 minutes (NAT'd offices share one), 1 minute doubling up to 1 hour. */
export const ADDRESS_RULE: ThrottleRule = { freeFailures: 30, windowMs: 15 * 60_000, baseBlockMs: 60_000, maxBlockMs: 60 * 60_000 };

/**
 * Login throttling per account name and per source address, kept in the identity store
 * so every node sees the same counters. The account key is the name as submitted, so
 * throttling an unknown name looks exactly like throttling a real one.
 */
export class LoginThrottle {
  constructor(
    private readonly store: IdentityStore,
    private readonly rules: { account: ThrottleRule; address: ThrottleRule } = { account: ACCOUNT_RULE, address: ADDRESS_RULE },
  ) {}

  /** Throws RateLimitedError while either key is blocked (checked before any password work). */
  async check(accountName: string, sourceIp: string, now: number): Promise<void> {
    for (const key of this.keys(accountName, sourceIp)) {
      const t = await this.store.getThrottle(key);
      if (t !== null && t.blockedUntil > now) {
        throw new RateLimitedError('too many failed attempts: try again later', { detail: `throttled ${key.split(':')[0]} for ${Math.ceil((t.blockedUntil - now) / 1000)} s` });
      }
    }
  }

  /** Counts a failure against both keys. */
  async fail(accountName: string, sourceIp: string, now: number): Promise<void> {
    const [account, address] = this.keys(accountName, sourceIp);
    await this.bump(account, this.rules.account, now);
    await this.bump(address, this.rules.address, now);
  }

  /** A success clears the account's counter (the address keeps its own). */
  async succeed(accountName: string, now: number): Promise<void> {
    void now;
    await this.store.deleteThrottle(this.keys(accountName, '')[0]);
  }

  private keys(accountName: string, sourceIp: string): [string, string] {
    return [`account:${accountName.normalize('NFKC').toLowerCase().slice(0, 200)}`, `address:${sourceIp}`];
  }

  private async bump(key: string, rule: ThrottleRule, now: number): Promise<void> {
    const prev = await this.store.getThrottle(key);
    const fresh = prev === null || now - prev.windowStart > rule.windowMs;
    const failures = fresh ? 1 : prev.failures + 1;
    const over = failures - rule.freeFailures + 1;
    const blockedUntil = over > 0 ? now + Math.min(rule.maxBlockMs, rule.baseBlockMs * 2 ** Math.min(over - 1, 20)) : 0;
    const next: ThrottleRecord = { key, failures, windowStart: fresh ? now : prev.windowStart, blockedUntil };
    await this.store.putThrottle(next);
  }
}
