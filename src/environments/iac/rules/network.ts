import type { RuleSpec } from '../rule-spec.js';

/**
 * The four network rules every provider gets (SSH, RDP and every port open to the
 * internet; unrestricted egress from a training network). The expressions are the same
 * for every provider because `networkRules` normalizes security groups, firewalls and
 * network security groups; each provider gets its own rules (ids, types, fixtures).
 */
export function networkRuleSpecs(p: { provider: string; prefix: string; subject: string; types: string[]; fixtures: string; controlFix: string }): RuleSpec[] {
  const worldIngress = 'r.direction == "ingress" && r.action == "allow" && r.peers.exists(p, worldCidr(p))';
  const where = (cond: string) =>
    `networkRules(resource).filter(r, ${cond}).map(r, r.direction + " " + r.protocol + " port " + r.ports.join(",") + (r.direction == "ingress" ? " from " : " to ") + r.peers.filter(p, worldCidr(p)).join(","))`;
  const open = (id: string, port: number, name: string, severity: RuleSpec['severity']): RuleSpec => ({
    id: `${p.prefix}-ingress-${id}-open`,
    severity,
    title: `${p.subject} does not open ${name} (port ${port}) to the internet`,
    message: `${name} (TCP ${port}) is reachable from the internet`,
    category: 'network',
    provider: p.provider,
    resource_types: p.types,
    violation: `networkRules(resource).exists(r, ${worldIngress} && reaches(r, ${port}))`,
    detail: where(`${worldIngress} && reaches(r, ${port})`),
    remediation: `allow ${name} only from known address ranges (a bastion, a VPN range) or use a managed access path; ${p.controlFix}`,
    fixtures: { violates: `${p.fixtures}-${id}-open.json`, passes: `${p.fixtures}-restricted.json` },
  });
  return [
    open('ssh', 22, 'SSH', 'high'),
    open('rdp', 3389, 'RDP', 'high'),
    {
      id: `${p.prefix}-ingress-all-open`,
      severity: 'critical',
      title: `${p.subject} does not open every port to the internet`,
      message: 'every port is reachable from the internet',
      category: 'network',
      provider: p.provider,
      resource_types: p.types,
      violation: `networkRules(resource).exists(r, ${worldIngress} && reachesAllPorts(r))`,
      detail: where(`${worldIngress} && reachesAllPorts(r)`),
      remediation: `open only the ports a service needs, and only to the ranges that need them; ${p.controlFix}`,
      fixtures: { violates: `${p.fixtures}-all-open.json`, passes: `${p.fixtures}-restricted.json` },
    },
    {
      id: `${p.prefix}-training-egress-open`,
      severity: 'medium',
      title: `${p.subject} of a training network does not allow unrestricted egress`,
      message: 'a training network can send anything anywhere on the internet (a data exfiltration path)',
      category: 'egress',
      provider: p.provider,
      resource_types: p.types,
      violation: 'mlNetwork(resource) && networkRules(resource).exists(r, r.direction == "egress" && r.action == "allow" && r.peers.exists(p, worldCidr(p)) && reachesAllPorts(r))',
      detail: where('r.direction == "egress" && r.action == "allow" && r.peers.exists(p, worldCidr(p)) && reachesAllPorts(r)'),
      remediation: 'allow egress only to the endpoints training needs (private endpoints for storage and registries, a proxy for package mirrors); deny the rest',
      fixtures: { violates: `${p.fixtures}-training-egress-open.json`, passes: `${p.fixtures}-restricted.json` },
    },
  ];
}
