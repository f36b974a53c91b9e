/** Typed HTTP client of the Coffer API. Depends on nothing else in Coffer. */
export * from './coffer-client.js';
export * from './policy-client.js';
export * from './access-client.js';
export * from './identity-client.js';
export * from './monitor-client.js';
