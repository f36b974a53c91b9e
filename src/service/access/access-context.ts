import type { PromotionCheckRegistry } from '../../access/promotion-checks.js';
import type { StepUpCheck } from '../../access/step-up.js';
import type { Notifier } from '../../access/webhook.js';
import type { Config } from '../../config/config.js';
import type { AccessStore } from '../../store/access-store.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';

/** What the access use cases share: the core deps and gate, plus the access module's own parts. */
export interface AccessContext {
  deps: ServiceDeps;
  gate: Gate;
  store: AccessStore;
  settings: Config['access'];
  notifier: Notifier;
  checks: PromotionCheckRegistry;
  stepUp: StepUpCheck;
}

/** The resource of system-level records (listings of one's own things). */
export const SYSTEM = { kind: 'system' } as const;
