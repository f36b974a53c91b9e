import { it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalClock } from './local-time.js';

void it('gives the local hour and weekday, across daylight saving time and odd offsets', () => {
  const paris = new LocalClock('Europe/Paris');
  assert.deepEqual(paris.at(Date.UTC(2025, 2, 30, 0, 59)), { hour: 1, weekday: 'sun' });
  // clocks jump from 02:00 to 03:00 at 01:00 UTC
  assert.deepEqual(paris.at(Date.UTC(2025, 2, 30, 1, 0)), { hour: 3, weekday: 'sun' });
  assert.deepEqual(paris.at(Date.UTC(2025, 2, 3, 23, 30)), { hour: 0, weekday: 'tue' });
  assert.deepEqual(new LocalClock('Asia/Kathmandu').at(Date.UTC(2025, 0, 1, 18, 14)), { hour: 23, weekday: 'wed' });
  assert.deepEqual(new LocalClock('Asia/Kathmandu').at(Date.UTC(2025, 0, 1, 18, 15)), { hour: 0, weekday: 'thu' });
  assert.deepEqual(new LocalClock().at(0), { hour: 0, weekday: 'thu' });
  assert.deepEqual(new LocalClock().at(-1), { hour: 23, weekday: 'wed' });
});

void it('agrees with Intl on many instants (the 15-minute offset cache is exact)', () => {
  for (const zone of ['America/St_Johns', 'Australia/Lord_Howe', 'Europe/Dublin', 'Pacific/Chatham', 'America/New_York']) {
    const clock = new LocalClock(zone);
    const fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: 'numeric', weekday: 'short' });
    for (let t = Date.UTC(2024, 0, 1); t < Date.UTC(2025, 0, 1); t += 7 * 3600 * 1000 + 13 * 60 * 1000 + 17) {
      const parts = Object.fromEntries(fmt.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
      const got = clock.at(t);
      assert.equal(got.hour, Number(parts.hour), `${zone} ${new Date(t).toISOString()}`);
      assert.equal(got.weekday, parts.weekday!.toLowerCase(), `${zone} ${new Date(t).toISOString()}`);
    }
  }
});

void it('refuses an unknown time zone', () => {
  assert.throws(() => new LocalClock('Mars/Olympus_Mons'), { code: 'COFFER_CONFIG_INVALID' });
});
