import { isIPv4, isIPv6 } from 'node:net';

/**
 * The source network of an address, as detectors compare them: the /24 of an IPv4
 * address, the /64 of an IPv6 address (IPv4-mapped IPv6 counts as IPv4). Anything else
 * is kept whole behind `other:` so it still compares equal to itself.
 */
export function sourceNetwork(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped ? mapped[1]! : ip;
  if (isIPv4(v4)) {
    const [a, b, c] = v4.split('.');
    return `${a}.${b}.${c}.0/24`;
  }
  if (isIPv6(ip)) {
    const groups = expandIPv6(ip);
    return `${groups.slice(0, 4).join(':')}::/64`;
  }
  return `other:${ip.slice(0, 64)}`;
}

/** The eight 16-bit groups of an IPv6 address, lowercase, without leading zeros. */
function expandIPv6(ip: string): string[] {
  const bare = ip.split('%')[0]!.toLowerCase();
  const [head, tail] = bare.includes('::') ? bare.split('::') as [string, string] : [bare, null];
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  const left = parse(head);
  const right = tail === null ? [] : parse(tail);
  // an embedded IPv4 tail (::1.2.3.4) stands for two groups
  const last = right.length > 0 ? right : left;
  const lastGroup = last[last.length - 1];
  if (lastGroup !== undefined && lastGroup.includes('.')) {
    const [a, b, c, d] = lastGroup.split('.').map(Number) as [number, number, number, number];
    last.splice(last.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const missing = 8 - left.length - right.length;
  const groups = tail === null ? left : [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  return groups.map((g) => (Number.parseInt(g, 16) || 0).toString(16));
}

/**
 * The device a request came from: the device id the identity layer recorded when
 * there is one, else the user agent with every version number blanked out, so an
 * upgrade of the same client is not a new device.
 */
export function deviceKey(context: Record<string, unknown>): string {
  const id = context.deviceId;
  if (typeof id === 'string' && id !== '') return `id:${id.slice(0, 128)}`;
  const ua = typeof context.userAgent === 'string' ? context.userAgent : '';
  return `ua:${ua.toLowerCase().replace(/\d+(?:[._]\d+)*/g, '#').slice(0, 120)}`;
}
