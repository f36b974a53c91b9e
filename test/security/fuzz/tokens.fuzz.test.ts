/**
 * Fuzz: the token formats a bearer presents. Coffer tokens (src/identity/token-format.ts:
 * API tokens, setup, refresh, SCIM, and share links through src/access/share-token.ts)
 * and access tokens (Ed25519 JWTs, src/identity/access-token.ts). Any text is a valid
 * token or null; every one-character change of a valid token is refused by its checksum
 * alone (CRC32 catches every error burst of 32 bits or less, and one character is 8);
 * the scanner finds exactly the valid tokens in any text; a JWT verifies only unchanged,
 * and anything else is refused with a catalog error, never another exception.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { shareTokenHash } from '../../../src/access/share-token.js';
import { isCofferError } from '../../../src/domain/errors.js';
import { looksLikeJwt, signAccessToken, verifyAccessToken } from '../../../src/identity/access-token.js';
import { signingKeyFromSeed } from '../../../src/identity/identity-keys.js';
import { TOKEN_KINDS, findTokens, generateToken, parseToken, tokenHint } from '../../../src/identity/token-format.js';
import { fuzzParams } from './fuzz-runs.js';
import { anyText, mutatedString } from './mutations.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const tokenArb = fc.tuple(fc.constantFrom(...TOKEN_KINDS), fc.uint8Array({ minLength: 64, maxLength: 64 })).map(([kind, random]) => generateToken(kind, Buffer.from(random)));

void describe('fuzz: Coffer token format', () => {
  void it('any text is a well-formed token of a known kind, or null; hints never fail', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(80), tokenArb.chain((t) => mutatedString(t, `${BASE62}_`, 3))), (text) => {
        const kind = parseToken(text);
        assert.ok(kind === null || (TOKEN_KINDS as readonly string[]).includes(kind));
        if (kind !== null) assert.match(text, /^coffer_[a-z]+_[0-9A-Za-z]{38}$/);
        assert.equal(typeof tokenHint(text), 'string');
        const share = shareTokenHash(text);
        assert.ok(share === null || (kind === 'share' && /^[0-9a-f]{64}$/.test(share)));
      }),
      fuzzParams(1000, 2001),
    );
  });

  void it('every single-character change of a valid token is refused by the checksum', () => {
    fc.assert(
      fc.property(tokenArb, fc.nat(), fc.constantFrom(...BASE62), (token, at, c) => {
        const i = token.lastIndexOf('_') + 1 + (at % 38);
        fc.pre(token[i] !== c);
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        assert.equal(parseToken(changed), null, changed);
        assert.equal(shareTokenHash(changed), null);
      }),
      fuzzParams(1500, 2002),
    );
  });

  void it('the scanner finds exactly the valid tokens hidden in any text', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: fc.constantFrom(' ', '\n', '"', ':', '=', '-', '.', 'é'), maxLength: 8 }), fc.option(tokenArb)), { maxLength: 6 }), (pieces) => {
        const text = pieces.map(([sep, t]) => `${sep} ${t ?? ''}`).join(' ');
        assert.deepEqual(findTokens(text), pieces.flatMap(([, t]) => (t === null ? [] : [t])));
      }),
      fuzzParams(1000, 2003),
    );
  });
});

void describe('fuzz: access tokens (JWT)', () => {
  const key = signingKeyFromSeed(randomBytes(32));
  const other = signingKeyFromSeed(randomBytes(32));
  const NOW = Date.UTC(2026, 0, 1);
  const verify = (token: string, k = key) => verifyAccessToken((kid) => (kid === k.kid ? k : null), token, { issuer: 'urn:coffer', now: NOW + 1000 });

  /** A refusal is a catalog error; a success must be the original token's claims. */
  async function verifiedOrRefused(token: string): Promise<unknown> {
    try {
      return await verify(token);
    } catch (err) {
      assert.ok(isCofferError(err), `not a catalog error: ${String(err)}`);
      assert.match(err.code, /^COFFER_AUTH_TOKEN_/);
      return null;
    }
  }

  void it('random bearers, and JWT-shaped garbage, are refused with a catalog error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyText(300), fc.array(fc.base64String({ maxLength: 60 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')), { minLength: 3, maxLength: 3 }).map((p) => p.join('.'))),
        async (bearer) => {
          looksLikeJwt(bearer);
          assert.equal(await verifiedOrRefused(bearer), null);
        },
      ),
      fuzzParams(1000, 2004),
    );
  });

  void it('a signed token verifies only if its header, claims and signature decode as signed', async () => {
    const { token, claims } = await signAccessToken(key, { issuer: 'urn:coffer', principalId: 'prn_x', sessionId: 'ses_x', methods: ['password'], now: NOW, ttlSeconds: 900 });
    assert.deepEqual(await verify(token), claims);
    await assert.rejects(verify(token, other), { code: 'COFFER_AUTH_TOKEN_INVALID' });
    const [h0, p0, s0] = token.split('.');
    await fc.assert(
      fc.asyncProperty(mutatedString(token, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/', 3), async (changed) => {
        const got = await verifiedOrRefused(changed);
        if (got === null) return;
        // it verified: the three parts decode to what was signed (base64url padding bits aside)
        const [h, p, s] = changed.split('.');
        assert.deepEqual([decodeProtectedHeader(changed), decodeJwt(changed)], [decodeProtectedHeader(token), decodeJwt(token)]);
        assert.ok(Buffer.from(s!, 'base64url').equals(Buffer.from(s0!, 'base64url')) && Buffer.from(h!, 'base64url').equals(Buffer.from(h0!, 'base64url')) && Buffer.from(p!, 'base64url').equals(Buffer.from(p0!, 'base64url')));
        assert.deepEqual(got, claims);
      }),
      fuzzParams(1000, 2005),
    );
  });
});
