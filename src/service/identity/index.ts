/** Identity use cases: login, sessions and tokens, second factors, accounts, federation, SCIM, devices. */
export { IdentityService } from './identity-service.js';
export type { LoginResult, SecondFactor } from './login.js';
export type { HandoffTarget } from './handoff.js';
export { deprovision } from './accounts.js';
export { ScimService } from './scim.js';
