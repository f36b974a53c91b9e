/**
 * Streams on request paths: every stream Coffer creates while serving a request has its
 * errors handled from birth (`guard`), so no client behaviour can end the process.
 * The transport's request body and response body owners live in `server/` and build on this.
 */
export { destroySafely, failureOf, guard } from './guard.js';
