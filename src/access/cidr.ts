import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../domain/errors.js';

/** At most this many networks on one share link. */
export const MAX_CIDRS = 16;

/**
 * Normalizes a list of CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`; a bare address means
 * that one host). Throws ValidationError naming the first bad entry.
 */
export function normalizeCidrs(cidrs: readonly string[]): string[] {
  if (cidrs.length > MAX_CIDRS) throw new ValidationError(`at most ${MAX_CIDRS} networks per link`);
  return cidrs.map((text) => {
    const { address, prefix } = parseCidr(text);
    return `${address}/${prefix}`;
  });
}

function parseCidr(text: string): { address: string; prefix: number; family: 4 | 6 } {
  const bad = () => new ValidationError(`\`${text.slice(0, 60)}\` is not an IP network (CIDR)`);
  const [address = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) throw bad();
  const family = isIP(address);
  if (family !== 4 && family !== 6) throw bad();
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw bad();
  return { address, prefix, family };
}

/**
 * True if `ip` is inside one of `cidrs` (or `cidrs` is empty). IPv4-mapped IPv6
 * addresses (`::ffff:10.1.2.3`) are matched as the IPv4 address they carry.
 * Fails closed: an address that does not parse matches nothing.
 */
export function ipAllowed(ip: string, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  const family = isIP(address);
  if (family !== 4 && family !== 6) return false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family === 4 ? 'ipv4' : 'ipv6');
  }
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
