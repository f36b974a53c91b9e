/**
 * Test support for the identity integration tests: a real runtime (SQLite or PostgreSQL)
 * with the identity routes, a movable clock, and a software WebAuthn authenticator
 * (ES256, `none` attestation, user verification flag) to drive ceremonies without a
 * browser. The browser test (test/e2e/webauthn-browser.test.ts) uses Chromium's virtual
 * authenticator instead.
 */
import { createHash, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { openRuntime } from '../../src/runtime/open-runtime.js';
import type { Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';

export interface IdentityHarness {
  app: FastifyInstance;
  runtime: Runtime;
  config: Config;
  /** Current fake time (epoch ms); move it with `advance`. */
  now(): number;
  advance(ms: number): void;
  adminToken: string;
  logs(): string;
  /** JSON request through inject; returns status and parsed body. */
  call<T = Record<string, unknown>>(method: string, url: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: T; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Opens a harness. `flags` are config keys (publicUrl defaults to http://localhost:7443); `adminPassword` is set at bootstrap. */
export async function openIdentityHarness(flags: Record<string, unknown> = {}, options: { adminPassword?: string } = {}): Promise<IdentityHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-identity-'));
  let time = Date.UTC(2030, 0, 1, 12, 0, 0);
  const config = loadConfig({ flags: { dataDir: dir, listen: '127.0.0.1:0', logLevel: 'info', publicUrl: 'http://localhost:7443', ...flags } });
  const runtime = await openRuntime(config, { clock: () => time, warn: () => undefined });
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (c: Buffer) => (logText += c.toString('utf8')));
  const app = await buildApp({ service: runtime.service, ready: () => runtime.store.ping(), logLevel: 'info', logStream, extensions: runtime.routes, publicRoutes: runtime.publicRoutes });
  const boot = await app.inject({ method: 'POST', url: '/v1/bootstrap', payload: { setupToken: runtime.setupToken, name: 'admin', ...(options.adminPassword !== undefined ? { password: options.adminPassword } : {}) } });
  if (boot.statusCode !== 201) throw new Error(`bootstrap failed: ${boot.body}`);
  const adminToken = boot.json<{ token: string }>().token;
  return {
    app,
    runtime,
    config,
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
    adminToken,
    logs: () => logText,
    async call(method, url, opts = {}) {
      const r = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.headers ?? {}) },
        ...(opts.body !== undefined ? { payload: opts.body as Record<string, unknown> } : {}),
      });
      const text = r.body;
      let body: unknown = text;
      try {
        body = text.length > 0 ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      return { status: r.statusCode, body: body as never, headers: r.headers };
    },
    async close() {
      await runtime.audit.flush().catch(() => undefined);
      await app.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- a software WebAuthn authenticator ----------------------------------------------

function cborHead(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Minimal CBOR encoder (ints, byte strings, text, maps with int or text keys). */
export function cbor(value: unknown): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([cborHead(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), Buffer.from(value)]);
  if (value instanceof Map) {
    const parts = [cborHead(5, value.size)];
    for (const [k, v] of value) parts.push(cbor(k), cbor(v));
    return Buffer.concat(parts);
  }
  throw new Error('unsupported cbor value');
}

/** A FIDO2 authenticator in software: one ES256 credential, counter, UP and UV flags. */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(32);
  readonly #key: KeyObject;
  readonly #publicJwk: { x: string; y: string };
  counter = 0;
  /** Set false to simulate an authenticator that skips user verification. */
  userVerified = true;

  constructor(readonly origin: string) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.#publicJwk = { x: jwk.x!, y: jwk.y! };
  }

  get rpId(): string {
    return new URL(this.origin).hostname;
  }

  #authData(rpId: string, attested: boolean): Buffer {
    this.counter++;
    const flags = 0x01 | (this.userVerified ? 0x04 : 0) | (attested ? 0x40 : 0);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const parts: Buffer[] = [createHash('sha256').update(rpId).digest(), Buffer.from([flags]), counter];
    if (attested) {
      const cose = cbor(new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(this.#publicJwk.x, 'base64url')], [-3, Buffer.from(this.#publicJwk.y, 'base64url')]]));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), len, this.credentialId, cose);
    }
    return Buffer.concat(parts);
  }

  #clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): the RegistrationResponseJSON for `options`. */
  register(options: { challenge: string; rp: { id?: string } }, over: { origin?: string; rpId?: string } = {}) {
    const clientDataJSON = this.#clientData('webauthn.create', options.challenge, over.origin ?? this.origin);
    const authData = this.#authData(over.rpId ?? options.rp.id ?? this.rpId, true);
    const attestationObject = cbor(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    const id = this.credentialId.toString('base64url');
    return { id, rawId: id, type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: attestationObject.toString('base64url'), transports: ['internal'] } };
  }

  /** navigator.credentials.get(): the AuthenticationResponseJSON for `options`. */
  assert(options: { challenge: string; rpId?: string }, over: { origin?: string; rpId?: string; replayCounter?: number } = {}) {
    const clientDataJSON = this.#clientData('webauthn.get', options.challenge, over.origin ?? this.origin);
    if (over.replayCounter !== undefined) this.counter = over.replayCounter - 1;
    const authData = this.#authData(over.rpId ?? options.rpId ?? this.rpId, false);
    const signer = createSign('sha256');
    signer.update(Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]));
    const signature = signer.sign(this.#key);
    const id = this.credentialId.toString('base64url');
    return { id, rawId: id, type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON: clientDataJSON.toString('base64url'), authenticatorData: authData.toString('base64url'), signature: signature.toString('base64url') } };
  }
}
