import { AccessDurationError } from '../domain/errors.js';
import type { Role } from '../domain/types.js';
import type { RequestKind } from './access-types.js';

/** The limits a duration is checked against (from Config['access']). */
export interface DurationLimits {
  maxSeconds: { reader: number; writer: number; owner: number };
  breakGlassMaxSeconds: number;
  shareMaxSeconds: number;
  requestTtlSeconds: number;
}

/**
 * How long an approved gate exception lasts: it is about one immutable version, so it holds
 * until revoked; the bound only keeps the end a real date.
 */
export const GATE_EXCEPTION_SECONDS = 10 * 365 * 24 * 3600;

/** Longest duration, in seconds, a request of `kind` for `role` may ask for. */
export function maxDurationSeconds(limits: DurationLimits, kind: RequestKind, role: Role | null): number {
  switch (kind) {
    case 'grant':
      return limits.maxSeconds[role ?? 'owner'];
    case 'break-glass':
      // INVARIANT: break-glass never outlasts the role's own maximum either
      return Math.min(limits.breakGlassMaxSeconds, limits.maxSeconds[role ?? 'owner']);
    case 'share':
      return limits.shareMaxSeconds;
    case 'promote':
      return limits.requestTtlSeconds;
    case 'gate-exception':
      return GATE_EXCEPTION_SECONDS;
  }
}

/**
 * Checks a requested duration (whole seconds, 1 or more, at most the maximum) and
 * returns it in milliseconds. Throws AccessDurationError naming the limit.
 */
export function checkDuration(limits: DurationLimits, kind: RequestKind, role: Role | null, seconds: number): number {
  const max = maxDurationSeconds(limits, kind, role);
  const what = kind === 'grant' ? `role \`${role}\`` : kind;
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new AccessDurationError(`duration must be a whole number of seconds, at least 1`);
  if (seconds > max) throw new AccessDurationError(`duration of ${formatDuration(seconds)} exceeds the maximum of ${formatDuration(max)} for ${what}`);
  return seconds * 1000;
}

/** `2h`, `30m`, `7d`, `45s`, `1h30m` from seconds (the largest exact units). */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/** Seconds from `90s`, `30m`, `2h`, `7d` or `1h30m`; null if the text is not a duration. */
export function parseDuration(text: string): number | null {
  if (!/^(\d+[dhms])+$/.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g)) {
    total += Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
  }
  return Number.isSafeInteger(total) ? total : null;
}
