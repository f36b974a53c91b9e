/** Identity: token format, token authentication, subjects (groups + grants), setup token. */
export * from './token-format.js';
export * from './authenticate-token.js';
export * from './resolve-subject.js';
export * from './issue-token.js';
export * from './setup-token.js';
