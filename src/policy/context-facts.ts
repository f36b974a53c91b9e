import type { RequestContext } from './policy-engine.js';
import { WEEKDAYS, type LocalClock, type LocalTime } from './local-time.js';
import { RequestMappingError } from './to-cedar-entities.js';

const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * The source address as policies see it: an IPv4 client of an IPv6 listener
 * (`::ffff:10.1.2.3`) is the IPv4 address `10.1.2.3`, so IPv4 ranges match it (Cedar
 * refuses IPv4 embedded in IPv6 outright).
 */
export function normalizeSourceIp(ip: string): string {
  const m = MAPPED_V4.exec(ip);
  return m === null ? ip : m[1]!;
}

/**
 * `context.localHour` and `context.localWeekday`: the pinned values if the request
 * gives them (checked), else `now` in the engine's time zone. `now` must be finite.
 * Throws RequestMappingError for a pinned value out of range.
 */
export function localTimeOf(context: RequestContext, clock: LocalClock): LocalTime {
  const { localHour, localWeekday } = context;
  // the instant Cedar sees as `now` is the whole millisecond (Date truncates)
  const now = Math.trunc(context.now);
  if (localHour === undefined && localWeekday === undefined) return clock.at(now);
  const derived = localHour === undefined || localWeekday === undefined ? clock.at(now) : undefined;
  const hour = localHour ?? derived!.hour;
  const weekday = localWeekday ?? derived!.weekday;
  if (!Number.isSafeInteger(hour) || hour < 0 || hour > 23) throw new RequestMappingError('context `localHour` must be an integer from 0 to 23');
  if (!(WEEKDAYS as readonly string[]).includes(weekday)) throw new RequestMappingError(`context \`localWeekday\` must be one of ${WEEKDAYS.join(', ')}`);
  return { hour, weekday };
}
