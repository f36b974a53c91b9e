/** Domain: ids, entity types and the error catalog. Depends on nothing else in Coffer. */
export * from './errors.js';
export * from './types.js';
export * from './ids.js';
