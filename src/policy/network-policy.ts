import { ConfigInvalidError } from '../domain/errors.js';
import { parseIp } from './compiled/extensions.js';
import type { PolicySource } from './load-policy-set.js';

/** Name of the generated source in the built-in set (version 0). */
export const NETWORK_SOURCE_NAME = 'baseline/networks.cedar (generated from `trustedNetworks`)';

/** Every address: the default of `trustedNetworks`, so nothing is refused by network. */
export const ALL_NETWORKS: readonly string[] = ['0.0.0.0/0', '::/0'];

/** Actions that change a prod artifact; from outside the trusted networks they are refused. */
const PROD_CHANGES = ['upload', 'delete', 'promote', 'grant', 'share', 'bypass-promotion'];

/**
 * Checks CIDRs as Cedar's `ip()` parses them (IPv4 or IPv6, optional `/prefix`, no
 * IPv4 embedded in IPv6) and returns them normalised (trimmed, prefix made explicit).
 * Throws ConfigInvalidError naming the first bad entry.
 */
export function parseTrustedNetworks(cidrs: readonly string[]): string[] {
  if (cidrs.length === 0) throw new ConfigInvalidError('configuration key `trustedNetworks` must list at least one CIDR (`0.0.0.0/0` and `::/0` trust every address)');
  return cidrs.map((raw) => {
    const text = raw.trim();
    // only the characters of an address: the CIDR is pasted into a policy text
    if (!/^[0-9A-Fa-f:.]+(\/[0-9]{1,3})?$/.test(text)) throw badCidr(raw);
    try {
      const ip = parseIp(text);
      return text.includes('/') ? text : `${text}/${ip.prefix}`;
    } catch {
      throw badCidr(raw);
    }
  });
}

function badCidr(raw: string): ConfigInvalidError {
  return new ConfigInvalidError(`configuration key \`trustedNetworks\` holds \`${raw.slice(0, 64)}\`, which is not an IPv4 or IPv6 CIDR`);
}

/**
 * The network rules of the built-in set, generated from `trustedNetworks`:
 * - `network/restricted-trusted-only`: restricted items (artifacts and versions of
 *   tier `restricted`) only from a trusted network, whatever the action;
 * - `network/prod-changes-trusted-only`: changes to prod items (upload, delete,
 *   promote, grant, share, bypass-promotion) only from a trusted network.
 * The source address is normalised before policies see it (`::ffff:10.1.2.3` is the
 * IPv4 address 10.1.2.3), so IPv4 CIDRs also cover IPv4 clients of an IPv6 listener.
 */
export function trustedNetworkPolicy(cidrs: readonly string[] = ALL_NETWORKS): PolicySource {
  const ranges = parseTrustedNetworks(cidrs);
  const trusted = ranges.map((r) => `context.sourceIp.isInRange(ip("${r}"))`).join(' ||\n    ');
  const actions = PROD_CHANGES.map((a) => `Coffer::Action::"${a}"`).join(', ');
  const text = `// Generated at start from the configuration key \`trustedNetworks\`:
// ${ranges.join(', ')}

// Restricted items are reachable only from the trusted networks, whatever the action.
@id("network/restricted-trusted-only")
forbid (principal, action, resource)
when { resource has tier && resource.tier == "restricted" }
unless {
    ${trusted}
};

// Prod items change (upload, delete, promote, grant, share, bypass-promotion) only from the trusted networks.
@id("network/prod-changes-trusted-only")
forbid (principal, action in [${actions}], resource)
when { resource has environment && resource.environment == "prod" }
unless {
    ${trusted}
};
`;
  return { name: NETWORK_SOURCE_NAME, text };
}
