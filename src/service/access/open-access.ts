import { PromotionCheckRegistry } from '../../access/promotion-checks.js';
import { freshAuthenticationCheck } from '../../access/step-up.js';
import type { StepUpCheck } from '../../access/step-up.js';
import { DisabledNotifier, WebhookNotifier } from '../../access/webhook.js';
import type { Notifier } from '../../access/webhook.js';
import type { Config } from '../../config/config.js';
import type { AccessStore } from '../../store/access-store.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { AccessService } from './access-service.js';

/** The access module as the composition root holds it. */
export interface AccessModule {
  service: AccessService;
  /** Register promotion checks here (the DLP scan will). */
  checks: PromotionCheckRegistry;
  notifier: Notifier;
  /** Stops the expiry sweeper and drains pending webhook deliveries. */
  close(): Promise<void>;
}

/**
 * Builds the access module on the core deps and gate: the webhook notifier from the
 * configuration (none without a URL), an empty promotion-check registry, the default
 * step-up check, and the background expiry sweep. Wires `deps.versionEnvironment` so
 * every use case (core ones included) sees a version in the environment it reached, and
 * `deps.versionsPromotedTo` so a delete marker knows the prod versions it would hide.
 */
export function openAccess(deps: ServiceDeps, gate: Gate, settings: Config['access'], options: { store: AccessStore; stepUp?: StepUpCheck; notifier?: Notifier; sweepIntervalMs?: number; singleton?: (name: string, start: () => () => Promise<void>) => void }): AccessModule {
  const notifier =
    options.notifier ??
    (settings.webhookUrl !== null && settings.webhookSecret !== null
      ? new WebhookNotifier({ url: settings.webhookUrl, secret: settings.webhookSecret, format: settings.webhookFormat, clock: deps.clock, warn: deps.warn })
      : new DisabledNotifier());
  const checks = new PromotionCheckRegistry();
  const service = new AccessService({ deps, gate, store: options.store, settings, notifier, checks, stepUp: options.stepUp ?? freshAuthenticationCheck(settings.stepUpMaxAgeSeconds) });
  deps.versionEnvironment = (version, artifact) => service.versionEnvironment(version, artifact);
  deps.versionsPromotedTo = async (artifactId, environment) => (await options.store.listPromotions(artifactId)).filter((p) => p.environment === environment).map((p) => p.versionId);
  // the expiry sweep is a singleton job: run under the composition root's lease when it gives one
  let stopSweeper: () => Promise<void> = async () => undefined;
  const startSweeper = () => service.startSweeper(options.sweepIntervalMs);
  if (options.singleton !== undefined) options.singleton('access-expiry', startSweeper);
  else stopSweeper = startSweeper();
  return {
    service,
    checks,
    notifier,
    close: async () => {
      await stopSweeper();
      await notifier.close();
    },
  };
}
