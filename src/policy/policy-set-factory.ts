import { createHash } from 'node:crypto';
import { PolicyInvalidError } from '../domain/errors.js';
import { ADMIN_TEMPLATES } from './cedar-names.js';
import { CompiledEngine } from './compiled-engine.js';
import type { PolicySource } from './load-policy-set.js';
import { LocalClock } from './local-time.js';
import { ALL_NETWORKS, trustedNetworkPolicy } from './network-policy.js';
import { readBaselinePack, readSchemaText } from './policy-files.js';
import type { PolicySummary } from './validate-policy-sources.js';

/** Settings of the installation that shape every policy set. */
export interface PolicySettings {
  /** IANA time zone of `context.localHour`/`localWeekday` (default UTC). */
  timeZone?: string;
  /** CIDRs of the trusted networks (default: every address). */
  trustedNetworks?: readonly string[];
  /** Schema text (default src/policy/schema.cedarschema). */
  schema?: string;
  /** Baseline pack (default src/policy/baseline/*.cedar). */
  baseline?: readonly PolicySource[];
}

/** Most custom policy text accepted in one set (characters). */
export const MAX_CUSTOM_TEXT = 1024 * 1024;
/** Ids of grants (the link id of a grant is its id) and of the admin links. */
const LINK_ID = /^grt_/;
const ADMIN_LINK_IDS = new Set<string>(ADMIN_TEMPLATES.map((t) => t.linkId));

/**
 * Builds engines for policy sets. A policy set is the built-in set (version 0: the
 * baseline pack and the network rules generated from `trustedNetworks`) plus the
 * custom policies an administrator applies: custom policies add to the built-in set,
 * they never replace it (grants and admin rights are links of its templates).
 * Custom policies are static policies with a unique `@id`; templates are refused
 * (only grants link templates), and so are ids of grants (`grt_...`) and admin links.
 */
export class PolicySetFactory {
  /** The built-in sources, in order. */
  readonly builtin: readonly PolicySource[];
  readonly schema: string;
  readonly timeZone: string;

  /** Throws ConfigInvalidError for an unknown time zone or a bad CIDR, PolicyInvalidError for a bad baseline. */
  constructor(settings: PolicySettings = {}) {
    this.schema = settings.schema ?? readSchemaText();
    this.timeZone = settings.timeZone ?? 'UTC';
    new LocalClock(this.timeZone);
    this.builtin = Object.freeze([...(settings.baseline ?? readBaselinePack()), trustedNetworkPolicy(settings.trustedNetworks ?? ALL_NETWORKS)]);
  }

  /**
   * An engine for the built-in set plus `custom`. Throws PolicyInvalidError (with
   * source, line and column) if a custom source breaks the rules above or the whole
   * set fails strict validation.
   */
  engine(custom: readonly PolicySource[], adminGroupId: string | null): CompiledEngine {
    checkSourceNames(custom, this.builtin);
    const engine = new CompiledEngine({ adminGroupId, schema: this.schema, timeZone: this.timeZone, policies: [...this.builtin, ...custom] });
    const names = new Set(custom.map((s) => s.name));
    for (const entry of [...engine.policySet.policies, ...engine.policySet.templates]) {
      if (!names.has(entry.source)) continue;
      const at = `${entry.source}:${entry.line}:${entry.column}`;
      if (entry.kind === 'template') {
        throw new PolicyInvalidError(`policy \`${entry.id}\` at ${at} is not valid: custom policies cannot be templates (\`?principal\`, \`?resource\`): grants are the only template links`);
      }
      if (LINK_ID.test(entry.id) || ADMIN_LINK_IDS.has(entry.id)) {
        throw new PolicyInvalidError(`policy \`${entry.id}\` at ${at} is not valid: the id is reserved for grant and admin links`);
      }
    }
    return engine;
  }

  /** Validates `custom` as {@link engine} would and lists its policies. */
  validate(custom: readonly PolicySource[]): PolicySummary[] {
    const names = new Set(custom.map((s) => s.name));
    const { policySet } = this.engine(custom, null);
    return policySet.policies.filter((p) => names.has(p.source)).map(({ id, kind, source, line, column }) => ({ id, kind, source, line, column }));
  }
}

/** SHA-256 (hex) of a custom set: names and texts, in order. */
export function policySetDigest(custom: readonly PolicySource[]): string {
  const h = createHash('sha256');
  for (const s of custom) h.update(JSON.stringify([s.name, s.text])).update('\n');
  return h.digest('hex');
}

function checkSourceNames(custom: readonly PolicySource[], builtin: readonly PolicySource[]): void {
  const seen = new Set(builtin.map((s) => s.name));
  let total = 0;
  for (const s of custom) {
    if (s.name.length === 0 || s.name.length > 200 || s.name.startsWith('baseline/')) {
      throw new PolicyInvalidError(`policy source name \`${s.name.slice(0, 60)}\` is not valid: use 1-200 characters, not starting with \`baseline/\``);
    }
    if (seen.has(s.name)) throw new PolicyInvalidError(`policy source name \`${s.name}\` is used twice`);
    seen.add(s.name);
    total += s.text.length;
  }
  if (total > MAX_CUSTOM_TEXT) throw new PolicyInvalidError(`custom policies are too large: ${total} characters, at most ${MAX_CUSTOM_TEXT}`);
}
