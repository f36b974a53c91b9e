import { createHash, createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { DeviceSignatureInvalidError, ValidationError } from '../domain/errors.js';

/** What a client sends to prove a request comes from an enrolled device. */
export interface DeviceProof {
  /** Device id (`dev_...`). */
  id: string;
  /** Epoch ms as decimal text, signed. */
  time: string;
  /** base64url Ed25519 signature over {@link deviceSigningInput}. */
  signature: string;
  method: string;
  /** Path and query of the request as sent. */
  path: string;
}

/** How far a device's clock may be from the server's. */
export const DEVICE_CLOCK_SKEW_MS = 120_000;

/**
 * The bytes a device signs: method, path with query, time, and the SHA-256 of the bearer
 * token, so a signature cannot be replayed with another token, on another request or
 * outside the time window.
 */
export function deviceSigningInput(p: { method: string; path: string; time: string; bearer: string }): Buffer {
  const tokenHash = createHash('sha256').update(p.bearer, 'utf8').digest('hex');
  return Buffer.from(`coffer-device-v1\n${p.method.toUpperCase()}\n${p.path}\n${p.time}\n${tokenHash}`, 'utf8');
}

/** Parses and checks a device public key (Ed25519 JWK); ValidationError otherwise. */
export function parseDevicePublicKey(jwk: unknown): KeyObject {
  const j = jwk as { kty?: unknown; crv?: unknown; x?: unknown; d?: unknown };
  if (typeof j !== 'object' || j === null || j.kty !== 'OKP' || j.crv !== 'Ed25519' || typeof j.x !== 'string' || j.d !== undefined) {
    throw new ValidationError('device key must be a public Ed25519 JWK');
  }
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: j.x }, format: 'jwk' });
  } catch (err) {
    throw new ValidationError('device key must be a public Ed25519 JWK', { cause: err });
  }
}

/** Verifies a device proof against the device's public key; DeviceSignatureInvalidError otherwise. */
export function verifyDeviceProof(publicJwk: string, proof: DeviceProof, bearer: string, now: number): void {
  const time = /^\d{1,16}$/.test(proof.time) ? Number(proof.time) : NaN;
  if (!Number.isSafeInteger(time) || Math.abs(now - time) > DEVICE_CLOCK_SKEW_MS) throw new DeviceSignatureInvalidError(undefined, { detail: 'device proof: time outside the window' });
  const key = parseDevicePublicKey(JSON.parse(publicJwk));
  const sig = Buffer.from(proof.signature, 'base64url');
  const ok = sig.length === 64 && verify(null, deviceSigningInput({ method: proof.method, path: proof.path, time: proof.time, bearer }), key, sig);
  if (!ok) throw new DeviceSignatureInvalidError();
}
