import { ConfigInvalidError } from '../domain/errors.js';

/** Weekday names as policies see them in `context.localWeekday`. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The local hour (0-23) and weekday of an instant in the organisation's time zone. */
export interface LocalTime {
  hour: number;
  weekday: Weekday;
}

const QUARTER_MS = 15 * 60 * 1000;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const CACHE_LIMIT = 4096;

/** Throws ConfigInvalidError unless `timeZone` is an IANA time zone name the runtime knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new ConfigInvalidError(`configuration key \`timeZone\` must be an IANA time zone (e.g. \`Europe/Paris\`), got \`${timeZone.slice(0, 64)}\``);
  }
}

/**
 * Local hour and weekday of epoch-ms instants in one time zone. Intl is slow (µs), so
 * the UTC offset is computed once per 15-minute window and cached: a window whose
 * start and end have the same offset has that offset throughout (zone transitions are
 * rare and far apart), otherwise the instant is computed exactly.
 */
export class LocalClock {
  private readonly format: Intl.DateTimeFormat;
  /** Window number -> UTC offset in ms, or null when the offset changes within the window. */
  private readonly offsets = new Map<number, number | null>();

  constructor(readonly timeZone: string = 'UTC') {
    assertTimeZone(timeZone);
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
  }

  /** The local hour and weekday of `nowMs` (a finite epoch ms). */
  at(nowMs: number): LocalTime {
    const window = Math.floor(nowMs / QUARTER_MS);
    let offset = this.offsets.get(window);
    if (offset === undefined) {
      const start = this.offsetAt(window * QUARTER_MS);
      const end = this.offsetAt(window * QUARTER_MS + QUARTER_MS - 1);
      offset = start === end ? start : null;
      if (this.offsets.size >= CACHE_LIMIT) this.offsets.clear();
      this.offsets.set(window, offset);
    }
    const local = nowMs + (offset ?? this.offsetAt(nowMs));
    const hour = Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);
    // 1970-01-01 was a Thursday (index 3 from Monday)
    const day = Math.floor(local / DAY_MS);
    const weekday = WEEKDAYS[(((day + 3) % 7) + 7) % 7]!;
    return { hour, weekday };
  }

  /** Local wall time minus UTC at `ms`, in ms (whole seconds, as zone data has). */
  private offsetAt(ms: number): number {
    const t = Math.floor(ms / 1000) * 1000;
    const parts: Record<string, string> = {};
    for (const p of this.format.formatToParts(new Date(t))) parts[p.type] = p.value;
    let year = Number(parts.year);
    if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
    const d = new Date(0);
    // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999
    d.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
    d.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
    return d.getTime() - t;
  }
}
