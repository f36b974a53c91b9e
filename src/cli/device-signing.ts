import { createPrivateKey, sign } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { deviceSigningInput } from '../identity/device-signature.js';

/** This machine's enrolled device key, as `coffer device enrol` stores it (0600). */
export interface StoredDeviceKey {
  id: string;
  jwk: JsonWebKey;
  /** Set once the CLI has seen the device approved: only then are requests signed. */
  approved?: boolean;
}

/** Reads the device key file; null when there is none (or it is unreadable). */
export function readDeviceKey(path: string): StoredDeviceKey | null {
  try {
    const d = JSON.parse(readFileSync(path, 'utf8')) as StoredDeviceKey;
    return typeof d.id === 'string' && typeof d.jwk === 'object' && d.jwk !== null ? d : null;
  } catch {
    return null;
  }
}

/** Records that the device is approved (the file keeps its 0600 mode). */
export function markDeviceApproved(path: string, d: StoredDeviceKey, approved: boolean): void {
  writeFileSync(path, JSON.stringify({ ...d, approved }) + '\n', { mode: 0o600 });
}

/**
 * The `x-coffer-device-*` headers for one request: an Ed25519 signature over method,
 * path with query, time and the SHA-256 of the bearer token (src/identity/device-signature.ts).
 */
export function deviceHeaders(device: { id: string; key: KeyObject }, req: { method: string; pathAndQuery: string; bearer: string; now: number }): Record<string, string> {
  const time = String(req.now);
  const signature = sign(null, deviceSigningInput({ method: req.method, path: req.pathAndQuery, time, bearer: req.bearer }), device.key).toString('base64url');
  return { 'x-coffer-device-id': device.id, 'x-coffer-device-time': time, 'x-coffer-device-signature': signature };
}

/**
 * Makes every request of this process to `server` that carries a bearer token also
 * carry a device proof, whichever client module sends it (core, identity, access, ...).
 * Requests to other origins (an identity provider, a webhook) are left untouched: a
 * proof is only ever shown to the Coffer server it is bound to.
 */
export function installDeviceSigning(server: string, device: { id: string; jwk: JsonWebKey }, onRefused: () => void = () => undefined): void {
  const origin = new URL(server).origin;
  const key = createPrivateKey({ key: device.jwk, format: 'jwk' });
  const inner = globalThis.fetch;
  const signed: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    new Headers(init?.headers).forEach((v, k) => headers.set(k, v));
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1];
    if (url.origin !== origin || bearer === undefined || headers.has('x-coffer-device-id')) return inner(input, init);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    for (const [k, v] of Object.entries(deviceHeaders({ id: device.id, key }, { method, pathAndQuery: url.pathname + url.search, bearer, now: Date.now() }))) headers.set(k, v);
    return inner(input, { ...init, headers }).then(async (res) => {
      // the device was revoked (or the clock is off): say so once, so the next command checks again
      if (res.status === 401) {
        const code = await res.clone().json().then((b) => (b as { error?: { code?: string } }).error?.code, () => undefined);
        if (code === 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID') onRefused();
      }
      return res;
    });
  };
  globalThis.fetch = signed;
}
