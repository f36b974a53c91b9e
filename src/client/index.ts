/** Typed HTTP client of the Coffer API. Depends on nothing else in Coffer. */
export * from './coffer-client.js';
