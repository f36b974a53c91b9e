import { readFileSync } from 'node:fs';
import { ConfigInvalidError } from '../domain/errors.js';
import type { Tier } from '../domain/types.js';
import type { RuleId } from './finding.js';

/** What happens when a rule fires: record and notify, also lock the principal, or nothing (rule disabled). */
export type RuleAction = 'alert' | 'lock' | 'off';

/** Byte caps per tier; 0 means no cap for that tier. */
export type TierCaps = Record<Tier, number>;

const GiB = 1024 ** 3;

/** Thresholds and actions of every detection rule. Times in minutes, hours or days as named. */
export interface MonitorRules {
  /**
   * Bytes, datasets and projects downloaded in a sliding window, against absolute caps,
   * the principal's hourly baseline and its history of restricted bytes. Breadth is
   * counted in datasets (an artifact, or a top folder of unclassified S3 keys: see
   * src/monitor/dataset.ts) and projects, never in keys.
   */
  volume: {
    action: RuleAction;
    windowMinutes: number;
    /** Absolute caps on bytes of each tier downloaded within the window, whatever the baseline. */
    tierCapsBytes: TierCaps;
    /** Absolute cap on distinct datasets downloaded within the window (0 = none; at most 63 is exact). */
    maxDistinctDatasets: number;
    /** Absolute cap on distinct projects downloaded from within the window (0 = none; at most 31 is exact). */
    maxDistinctProjects: number;
    /** Active hours needed before the baseline is used. */
    baselineMinSamples: number;
    /** Threshold = max(floor, factor * mean + deviations * mean absolute deviation). */
    baselineFactor: number;
    baselineDeviations: number;
    baselineMinBytes: number;
    baselineMinDistinct: number;
    baselineMinProjects: number;
    /**
     * Restricted bytes within the window, against the principal's own restricted bytes
     * per hour: threshold = max(restrictedMinBytes, factor * mean + deviations * dev),
     * from the first download (0 = check off).
     */
    restrictedMinBytes: number;
    restrictedFactor: number;
    restrictedDeviations: number;
    /** EWMA weight of each new hourly sample. */
    alpha: number;
    cooldownMinutes: number;
  };
  /** Cumulative budgets over a rolling day and week, so many small downloads still add up. */
  slowAndLow: {
    action: RuleAction;
    /** Absolute caps on bytes of each tier within a rolling 24 hours. */
    dayTierCapsBytes: TierCaps;
    /** Active days needed before the daily baseline is used. */
    baselineMinDays: number;
    dailyFactor: number;
    dailyDeviations: number;
    dailyMinBytes: number;
    /** Novel datasets (not downloaded by the principal within `noveltyDays`) first downloaded within a rolling 24 hours, against its daily baseline. */
    noveltyDays: number;
    novelFactor: number;
    novelDeviations: number;
    novelMinDatasets: number;
    /** Distinct datasets within a rolling 24 hours, against the daily baseline of distinct datasets. */
    distinctFactor: number;
    distinctDeviations: number;
    dailyMinDistinct: number;
    /** Active weeks needed before the weekly baseline is used. */
    baselineMinWeeks: number;
    weeklyFactor: number;
    weeklyDeviations: number;
    weeklyMinBytes: number;
    alpha: number;
    cooldownHours: number;
  };
  /** Restricted artifacts used at an hour of day the principal is rarely active. */
  offHours: {
    action: RuleAction;
    learnDays: number;
    minEvents: number;
    /** The share of the principal's activity within one hour of this hour of day below which it is unusual. */
    minShare: number;
    cooldownHours: number;
  };
  /** A source network (/24, /64) or device never seen for this principal. */
  newSource: {
    action: RuleAction;
    learnDays: number;
    minEvents: number;
    /** Networks and devices unseen for this long are forgotten. */
    forgetDays: number;
  };
  /** Bursts of denials (probing, enumeration) and mass listing. */
  probing: {
    action: RuleAction;
    denialWindowMinutes: number;
    maxDenials: number;
    listingWindowMinutes: number;
    /** Metadata reads (listing pages included) within the listing window. */
    maxListings: number;
    cooldownMinutes: number;
  };
}

/** The defaults: tuned on the labelled simulation (src/monitor/sim/), see docs/monitoring.md. */
export const DEFAULT_RULES: MonitorRules = deepFreeze({
  volume: {
    action: 'lock',
    windowMinutes: 60,
    tierCapsBytes: { public: 0, internal: 150 * GiB, confidential: 60 * GiB, restricted: 16 * GiB },
    maxDistinctDatasets: 40,
    maxDistinctProjects: 8,
    baselineMinSamples: 24,
    baselineFactor: 3,
    baselineDeviations: 4,
    baselineMinBytes: 16 * GiB,
    baselineMinDistinct: 15,
    baselineMinProjects: 3,
    restrictedMinBytes: 4 * GiB,
    restrictedFactor: 3,
    restrictedDeviations: 4,
    alpha: 0.1,
    cooldownMinutes: 60,
  },
  slowAndLow: {
    action: 'alert',
    dayTierCapsBytes: { public: 0, internal: 400 * GiB, confidential: 150 * GiB, restricted: 30 * GiB },
    baselineMinDays: 10,
    dailyFactor: 3,
    dailyDeviations: 4,
    dailyMinBytes: 8 * GiB,
    noveltyDays: 30,
    novelFactor: 3,
    novelDeviations: 3,
    novelMinDatasets: 5,
    distinctFactor: 2,
    distinctDeviations: 3,
    dailyMinDistinct: 15,
    baselineMinWeeks: 4,
    weeklyFactor: 3,
    weeklyDeviations: 4,
    weeklyMinBytes: 40 * GiB,
    alpha: 0.15,
    cooldownHours: 24,
  },
  offHours: { action: 'alert', learnDays: 10, minEvents: 60, minShare: 0.01, cooldownHours: 12 },
  newSource: { action: 'alert', learnDays: 14, minEvents: 30, forgetDays: 90 },
  probing: { action: 'alert', denialWindowMinutes: 5, maxDenials: 25, listingWindowMinutes: 10, maxListings: 300, cooldownMinutes: 30 },
});

/** The rules key of each rule id. */
export const RULE_KEYS: Record<RuleId, keyof MonitorRules> = {
  volume: 'volume',
  'slow-and-low': 'slowAndLow',
  'off-hours': 'offHours',
  'new-source': 'newSource',
  probing: 'probing',
};

/** The action configured for a rule. */
export function actionOf(rules: MonitorRules, rule: RuleId): RuleAction {
  return rules[RULE_KEYS[rule]].action;
}

/**
 * `base` with `overrides` applied: a partial object of the same shape. Unknown keys,
 * wrong types, negative numbers and unknown actions are ConfigInvalidError (a typo in
 * a rule must never silently leave the default in place).
 */
export function mergeRules(base: MonitorRules, overrides: unknown, where = 'monitor rules'): MonitorRules {
  return deepFreeze(merge(base, overrides, where) as MonitorRules);
}

/** Reads a JSON rules file (partial overrides of DEFAULT_RULES). */
export function loadRulesFile(path: string): MonitorRules {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigInvalidError(`monitor rules file \`${path}\` could not be read: ${(err as Error).message}`);
  }
  return mergeRules(DEFAULT_RULES, parsed, `monitor rules file \`${path}\``);
}

/** Keys renamed when breadth came to be counted in datasets instead of artifacts (keys of S3 folders were each one). */
const RENAMED: Record<string, string> = { maxDistinctArtifacts: 'maxDistinctDatasets', novelMinArtifacts: 'novelMinDatasets' };

function merge(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return base;
  if (typeof base === 'object' && base !== null) {
    if (typeof over !== 'object' || over === null || Array.isArray(over)) throw new ConfigInvalidError(`${path} must be an object`);
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) {
      if (!(k in out) && Object.hasOwn(RENAMED, k) && RENAMED[k]! in out) throw new ConfigInvalidError(`\`${k}\` in ${path} is now \`${RENAMED[k]}\`: breadth is counted in datasets (see docs/monitoring.md)`);
      if (!(k in out)) throw new ConfigInvalidError(`unknown key \`${k}\` in ${path}: known keys are ${Object.keys(out).join(', ')}`);
      out[k] = merge(out[k], v, `${path}.${k}`);
    }
    return out;
  }
  if (typeof base === 'number') {
    if (typeof over !== 'number' || !Number.isFinite(over) || over < 0) throw new ConfigInvalidError(`${path} must be a non-negative number`);
    return over;
  }
  if (typeof base === 'string') {
    if (over !== 'alert' && over !== 'lock' && over !== 'off') throw new ConfigInvalidError(`${path} must be one of alert, lock, off`);
    return over;
  }
  throw new ConfigInvalidError(`${path} cannot be set`);
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
