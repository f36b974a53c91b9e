import type { ArtifactVersion } from '../../domain/types.js';
import { scanFacts } from '../../policy/version-facts.js';

/** Ids of the artifact gate's baseline policies (src/policy/baseline/gate.cedar) start with this. */
export const GATE_POLICY_PREFIX = 'gate/';

/**
 * Why the gate refused an act on a version, for the caller (who may read the version:
 * the Gate answers not-found to anyone else). Names the failing checks, never a finding.
 */
export function gateBlockedMessage(action: string, resourceName: string, version: ArtifactVersion): string {
  const facts = scanFacts(version);
  const why: string[] = [];
  if (facts.state === 'pending') why.push('its scan has not finished');
  if (facts.state === 'unscannable') why.push('its content could not be fully scanned');
  if (facts.unsafeCode) why.push('unsafe serialized code');
  if (facts.secrets) why.push('secrets');
  if (facts.pii) why.push('personal data');
  const reasons = why.length > 0 ? why.join(', ') : 'its scan verdict';
  return `blocked by the artifact gate: \`${action}\` on \`${resourceName}\` (${reasons}); see the report with \`coffer gate scan\`, or ask for an exception with \`coffer gate except\` (approved by someone else)`;
}
