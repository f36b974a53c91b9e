/** Use cases: every access runs authenticate -> authorize -> audit -> act here, and only here. */
export { CofferService } from './coffer-service.js';
export type { ServiceDeps, RequestMeta } from './deps.js';
export type { Caller } from './caller.js';
export { RangeNotSatisfiable } from './transfer.js';
export { ADMINS_GROUP } from './admin.js';
export type * from './views.js';
export { Gate } from './gate.js';
export type { Permit, DenyAs } from './gate.js';
export { names, notFoundMessage, findProject, findArtifact, findVersion } from './resources.js';
export { auditContext, actorOf } from './caller.js';
