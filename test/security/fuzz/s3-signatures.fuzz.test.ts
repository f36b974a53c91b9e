/**
 * Fuzz: SigV4 and SigV2, in the Authorization header and in presigned query strings
 * (src/s3/sigv4.ts, sigv2.ts, uri-encode.ts). Random and mutated headers, dates, paths
 * and query strings give a parsed request or a Coffer error, never another exception.
 * And soundness: a mutated request verifies only when what was signed did not change
 * (the canonical request, or SigV2's string to sign, is the original's), so no edit an
 * attacker can make to a signed request survives verification.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { isCofferError } from '../../../src/domain/errors.js';
import { parseSigV2, stringToSignV2, verifySigV2, type SigV2Request } from '../../../src/s3/sigv2.js';
import { canonicalRequest, parseSigV4, queryOf, verifySigV4 } from '../../../src/s3/sigv4.js';
import { fakeRequest } from '../../../src/s3/test-support.js';
import { signS3 } from '../../support/s3-signer.js';
import { fuzzParams } from './fuzz-runs.js';
import { anyText, mutatedString } from './mutations.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const CREDS = { accessKeyId: 'CKIAFUZZFUZZFUZZFUZZ', secretAccessKey: 'fuzz-secret', sessionToken: 'coffer_s3session_fuzz' };
const SIG_ALPHABET = '=,;/ -:%&?+*AWS4HMACSHA256Credential SignedHeaders Signature X-Amz-0123456789abcdefZ';

/** Runs `fn`; any throw must be a Coffer error. Returns its result or null. */
function cofferOnly<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (err) {
    assert.ok(isCofferError(err), `not a Coffer error: ${String(err)}`);
    return null;
  }
}

/** What a mutation may change in a request. */
type Part = 'authorization' | 'x-amz-date' | 'x-amz-content-sha256' | 'range' | 'path' | 'query';

function mutatedRequest(base: { method: string; rawPath: string; rawQuery: string; headers: Record<string, string> }, part: Part, value: string) {
  const headers = { ...base.headers };
  let { rawPath, rawQuery } = base;
  if (part === 'path') rawPath = value;
  else if (part === 'query') rawQuery = value;
  else headers[part] = value;
  return fakeRequest({ method: base.method, path: rawPath, query: rawQuery, headers });
}

const v4Arb = fc.record({ presign: fc.boolean(), method: fc.constantFrom('GET', 'PUT', 'DELETE'), key: fc.stringMatching(/^[a-z0-9/._-]{1,20}$/), versionId: fc.option(fc.stringMatching(/^[0-9]{1,3}$/)) }).chain((c) => {
  const signed = signS3(CREDS, {
    method: c.method,
    path: `/bucket/${c.key}`,
    query: c.versionId === null ? [] : [['versionId', c.versionId]],
    headers: c.presign ? {} : { range: 'bytes=0-9' },
    presign: c.presign,
    now: NOW,
  });
  const parts: Part[] = c.presign ? ['path', 'query'] : ['authorization', 'x-amz-date', 'x-amz-content-sha256', 'range', 'path', 'query'];
  return fc.constantFrom(...parts).chain((part) => {
    const original = part === 'path' ? signed.rawPath : part === 'query' ? signed.rawQuery : signed.headers[part]!;
    return mutatedString(original, SIG_ALPHABET, 3).map((value) => ({ signed, part, value }));
  });
});

void describe('fuzz: SigV4', () => {
  void it('random Authorization headers, dates and query strings parse or are refused with a Coffer error', () => {
    fc.assert(
      fc.property(anyText(200), anyText(60), anyText(200), anyText(80), (auth, date, rawQuery, rawPath) => {
        const request = fakeRequest({ path: rawPath, query: rawQuery, headers: { authorization: `AWS4-HMAC-SHA256 ${auth}`, 'x-amz-date': date, host: 'h' } });
        const query = cofferOnly(() => queryOf(request));
        if (query === null) return;
        const parsed = cofferOnly(() => parseSigV4(request, query));
        if (parsed) cofferOnly(() => verifySigV4(request, query, parsed, 'secret', NOW));
        const presigned = fakeRequest({ path: rawPath, query: `X-Amz-Algorithm=AWS4-HMAC-SHA256&${rawQuery}`, headers: { host: 'h' } });
        const q2 = cofferOnly(() => queryOf(presigned));
        const p2 = q2 && cofferOnly(() => parseSigV4(presigned, q2));
        if (q2 && p2) cofferOnly(() => verifySigV4(presigned, q2, p2, 'secret', NOW));
      }),
      fuzzParams(500, 1801),
    );
  });

  void it('a signed request (header or presigned) verifies after an edit only if what was signed is unchanged', () => {
    let refused = 0;
    fc.assert(
      fc.property(v4Arb, ({ signed, part, value }) => {
        const original = fakeRequest({ method: signed.method, path: signed.rawPath, query: signed.rawQuery, headers: signed.headers });
        const oq = queryOf(original);
        const op = parseSigV4(original, oq)!;
        verifySigV4(original, oq, op, CREDS.secretAccessKey, NOW);
        const request = mutatedRequest(signed, part, value);
        const query = cofferOnly(() => queryOf(request));
        const parsed = query && cofferOnly(() => parseSigV4(request, query));
        const ok = query && parsed && cofferOnly(() => verifySigV4(request, query, parsed, CREDS.secretAccessKey, NOW));
        if (!ok) {
          refused++;
          return;
        }
        // it verified: then nothing that was signed changed
        assert.equal(canonicalRequest(request, query, parsed), canonicalRequest(original, oq, op), `${part}: ${JSON.stringify(value)}`);
        // (the access key id is not signed: it selects the secret, so another id means another secret)
        assert.deepEqual([parsed.scopeDate, parsed.region, parsed.amzDate, parsed.signature.toLowerCase()], [op.scopeDate, op.region, op.amzDate, op.signature]);
      }),
      fuzzParams(800, 1802),
    );
    assert.ok(refused > 50);
  });
});

function signV2(request: ReturnType<typeof fakeRequest>, presign: boolean): ReturnType<typeof fakeRequest> {
  const parsed: SigV2Request = presign
    ? { kind: 'presigned', accessKeyId: CREDS.accessKeyId, signature: '', expires: Math.floor(NOW / 1000) + 300, sessionToken: CREDS.sessionToken }
    : { kind: 'header', accessKeyId: CREDS.accessKeyId, signature: '', expires: null, sessionToken: CREDS.sessionToken };
  const query = queryOf(request);
  const sig = createHmac('sha1', CREDS.secretAccessKey).update(stringToSignV2(request, query, parsed), 'utf8').digest('base64');
  if (presign) {
    const rawQuery = `${request.rawQuery ? `${request.rawQuery}&` : ''}AWSAccessKeyId=${CREDS.accessKeyId}&Expires=${parsed.expires}&Signature=${encodeURIComponent(sig)}`;
    return fakeRequest({ method: request.method, path: request.rawPath, query: rawQuery, headers: request.headers });
  }
  return fakeRequest({ method: request.method, path: request.rawPath, query: request.rawQuery, headers: { ...request.headers, authorization: `AWS ${CREDS.accessKeyId}:${sig}` } });
}

void describe('fuzz: SigV2', () => {
  void it('random Authorization headers and presigned queries parse or are refused with a Coffer error', () => {
    fc.assert(
      fc.property(anyText(120), anyText(160), (auth, rawQuery) => {
        for (const request of [fakeRequest({ path: '/b/k', headers: { authorization: `AWS ${auth}`, date: new Date(NOW).toUTCString() } }), fakeRequest({ path: '/b/k', query: `AWSAccessKeyId=x&${rawQuery}`, headers: {} })]) {
          const query = cofferOnly(() => queryOf(request));
          const parsed = query && cofferOnly(() => parseSigV2(request, query));
          if (query && parsed) cofferOnly(() => verifySigV2(request, query, parsed, 'secret', NOW));
        }
      }),
      fuzzParams(500, 1803),
    );
  });

  void it('a SigV2-signed request verifies after an edit only if its string to sign is unchanged', () => {
    const arb = fc.record({ presign: fc.boolean(), sub: fc.constantFrom('', 'uploads', 'versionId=3', 'acl', 'partNumber=1&uploadId=u1') }).chain(({ presign, sub }) => {
      const base = fakeRequest({ method: 'PUT', path: '/bucket/a/b.bin', query: sub, headers: { date: new Date(NOW).toUTCString(), 'content-type': 'text/plain', 'x-amz-meta-a': 'b', 'x-amz-security-token': CREDS.sessionToken } });
      const { method, rawPath, rawQuery, headers } = signV2(base, presign);
      const signed = { method, rawPath, rawQuery, headers };
      const parts = presign ? (['path', 'query'] as const) : (['authorization', 'content-type', 'x-amz-meta-a', 'date', 'path', 'query'] as const);
      return fc.constantFrom(...parts).chain((part) => {
        const original = part === 'path' ? signed.rawPath : part === 'query' ? signed.rawQuery : signed.headers[part]!;
        return mutatedString(original, `${SIG_ALPHABET}=+/`, 3).map((value) => ({ signed, part, value }));
      });
    });
    fc.assert(
      fc.property(arb, ({ signed: plain, part, value }) => {
        const signed = fakeRequest({ method: plain.method, path: plain.rawPath, query: plain.rawQuery, headers: plain.headers });
        const oq = queryOf(signed);
        const op = parseSigV2(signed, oq)!;
        verifySigV2(signed, oq, op, CREDS.secretAccessKey, NOW);
        const headers = { ...signed.headers };
        let { rawPath, rawQuery } = signed;
        if (part === 'path') rawPath = value;
        else if (part === 'query') rawQuery = value;
        else headers[part] = value;
        const request = fakeRequest({ method: signed.method, path: rawPath, query: rawQuery, headers });
        const query = cofferOnly(() => queryOf(request));
        const parsed = query && cofferOnly(() => parseSigV2(request, query));
        const ok = query && parsed && cofferOnly(() => (verifySigV2(request, query, parsed, CREDS.secretAccessKey, NOW), true));
        if (!ok) return;
        assert.equal(stringToSignV2(request, query, parsed), stringToSignV2(signed, oq, op), `${part}: ${JSON.stringify(value)} (was ${JSON.stringify(part === 'path' ? signed.rawPath : part === 'query' ? signed.rawQuery : signed.headers[part])})`);
        // (the access key id is not signed: it selects the secret)
        assert.equal(parsed.expires, op.expires);
      }),
      fuzzParams(600, 1804),
    );
  });
});
