/**
 * Identity: token format, API token authentication, subjects (groups + grants), setup
 * token; passwords (argon2id, policy, throttling), TOTP and recovery codes, WebAuthn,
 * sessions with short-lived Ed25519 access tokens and rotating refresh tokens, identity
 * keys sealed by the keyring, managed-device proofs, service-account assertions,
 * workload and SSO federation, SCIM. `Identity` is the runtime object the service uses.
 */
export * from './token-format.js';
export * from './authenticate-token.js';
export * from './resolve-subject.js';
export * from './issue-token.js';
export * from './setup-token.js';
export * from './password-policy.js';
export * from './password-hash.js';
export * from './login-throttle.js';
export * from './totp.js';
export * from './recovery-codes.js';
export * from './identity-keys.js';
export * from './access-token.js';
export * from './credential-lineage.js';
export * from './sessions.js';
export * from './webauthn.js';
export * from './device-signature.js';
export * from './device-ca.js';
export * from './client-assertion.js';
export * from './workload-trust.js';
export * from './oidc-client.js';
export * from './scim-protocol.js';
export * from './identity.js';
