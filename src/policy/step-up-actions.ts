import type { Action } from './policy-engine.js';

/**
 * Whether an action needs a recent WebAuthn assertion (step-up) from a user:
 * - `always`: whatever the resource;
 * - `restricted`: on items of tier `restricted`;
 * - `never`: no step-up (the action reveals or changes nothing sensitive by itself);
 * - `action-group`: a role of the schema (`role/reader`...), never requested itself.
 */
export type StepUpRule = 'always' | 'restricted' | 'never' | 'action-group';

/** Every action of the schema (src/policy/schema.cedarschema) with its step-up rule and why. */
export type StepUpTable = Readonly<Record<Action | 'role/owner' | 'role/writer' | 'role/reader', { rule: StepUpRule; why: string }>>;

/**
 * THE list of what needs a recent WebAuthn assertion (docs/security.md, "Step-up").
 * The policies `identity/step-up-restricted` and `identity/step-up-always` of
 * src/policy/baseline/identity.cedar must name exactly these actions: a test checks the
 * Cedar against this table, and another asks every action of the schema for a decision
 * here, so a new action cannot be added without deciding its step-up.
 *
 * Who is concerned: users. Service accounts have no second factor (they get short-lived
 * or key-bound credentials instead); a credential whose lineage rests on the setup token
 * (`token`) is exempt unless `requireStepUpForUserTokens` withdraws it.
 */
export const STEP_UP: StepUpTable = {
  'role/owner': { rule: 'action-group', why: 'a role: granted, never requested' },
  'role/writer': { rule: 'action-group', why: 'a role: granted, never requested' },
  'role/reader': { rule: 'action-group', why: 'a role: granted, never requested' },
  'read-metadata': { rule: 'never', why: 'names and facts only; what the caller may not see is hidden anyway' },
  download: { rule: 'restricted', why: 'restricted bytes leave Coffer' },
  upload: { rule: 'restricted', why: 'replacing a restricted model is tampering with it' },
  'create-artifact': { rule: 'never', why: 'an empty artifact in a project; its bytes come by upload' },
  delete: { rule: 'restricted', why: 'destroys restricted data' },
  promote: { rule: 'always', why: 'moves a version towards prod' },
  'bypass-promotion': { rule: 'always', why: 'changes prod without a promotion (only where a policy permits it)' },
  grant: { rule: 'restricted', why: 'a grant on restricted data lets another credential read it without any step-up of ours' },
  'request-access': { rule: 'never', why: 'asking gives nothing until someone else approves' },
  'approve-access': { rule: 'restricted', why: 'approving opens restricted data to someone else' },
  'break-glass': { rule: 'always', why: 'self-elevation without approval' },
  share: { rule: 'restricted', why: 'a link to restricted data is a credential for it' },
  'create-project': { rule: 'never', why: 'an empty project owned by its creator' },
  'manage-principals': { rule: 'always', why: 'accounts, credentials, groups: who is who' },
  'rotate-keys': { rule: 'always', why: 'the keys of every object' },
  'read-audit': { rule: 'always', why: 'the record of everything everyone did' },
  admin: { rule: 'always', why: 'system administration' },
  'read-policy': { rule: 'always', why: 'the rules in force, explanations and impact over past decisions reveal who may reach what' },
  'manage-policy': { rule: 'always', why: 'a policy can grant anything: applying one is the strongest admin action' },
};

/** The policy ids of identity.cedar that enforce {@link STEP_UP}, by rule. */
export const STEP_UP_POLICY_IDS = { restricted: 'identity/step-up-restricted', always: 'identity/step-up-always' } as const;

/** The actions of a rule, sorted. */
export function stepUpActions(rule: StepUpRule): string[] {
  return Object.entries(STEP_UP)
    .filter(([, v]) => v.rule === rule)
    .map(([a]) => a)
    .sort();
}
