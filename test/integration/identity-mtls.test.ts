import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { issueDeviceCertificate } from '../../src/identity/device-ca.js';
import { buildApp } from '../../src/server/app.js';
import { openIdentityHarness } from './identity-harness.js';
import type { IdentityHarness } from './identity-harness.js';

type Session = { device?: { managed: boolean; id: string }; error?: { code: string } };

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

/** A GET over a real TLS connection (no connection reuse), optionally with a client certificate. */
function get(port: number, ca: string, path: string, token: string, client?: { cert: string; key: string }): Promise<{ status: number; body: Session }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', ca, agent: false, headers: { authorization: `Bearer ${token}` }, timeout: 10_000, ...(client ?? {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Session }));
    });
    req.on('error', reject).on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

void describe('identity: managed devices over mTLS (device CA)', () => {
  let h: IdentityHarness;
  let tlsApp: FastifyInstance;
  let port: number;
  let dir: string;
  let serverCa: string;
  let hana: string;
  let ivan: string;
  let deviceId: string;
  let cert: { certificate: string; caCertificate: string; notAfter: string };
  const laptop = generateKeyPairSync('ed25519');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-mtls-'));
    // the server's own TLS certificate (openssl, P-256, for 127.0.0.1)
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    serverCa = readFileSync(join(dir, 'server.pem'), 'utf8');
    h = await openIdentityHarness();
    tlsApp = await buildApp({ service: h.runtime.service, ready: () => h.runtime.store.ping(), logLevel: 'warn', extensions: h.runtime.routes, publicRoutes: h.runtime.publicRoutes, tls: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') } });
    await tlsApp.listen({ host: '127.0.0.1', port: 0 });
    port = (tlsApp.server.address() as AddressInfo).port;
    for (const name of ['hana', 'ivan']) await h.call('POST', '/v1/principals', { token: h.adminToken, body: { kind: 'user', name } });
    hana = (await h.call<{ token: string }>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: 'hana' } })).body.token;
    ivan = (await h.call<{ token: string }>('POST', '/v1/tokens', { token: h.adminToken, body: { principal: 'ivan' } })).body.token;
    deviceId = (await h.call<{ id: string }>('POST', '/v1/devices', { token: hana, body: { name: 'hana-laptop', publicKey: laptop.publicKey.export({ format: 'jwk' }) } })).body.id;
  });
  after(async () => {
    await tlsApp?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a pending device gets no certificate; an approved one does, from its owner only', async () => {
    assert.equal((await h.call('POST', `/v1/devices/${deviceId}/certificate`, { token: hana })).status, 404);
    assert.equal((await h.call('POST', `/v1/devices/${deviceId}/approve`, { token: h.adminToken })).status, 200);
    assert.equal((await h.call('POST', `/v1/devices/${deviceId}/certificate`, { token: ivan })).status, 404, "another principal's device");
    const r = await h.call<typeof cert & { deviceId: string }>('POST', `/v1/devices/${deviceId}/certificate`, { token: hana });
    assert.equal(r.status, 200);
    cert = r.body;
    const x = new X509Certificate(cert.certificate);
    const ca = new X509Certificate(cert.caCertificate);
    assert.equal(x.subject, `CN=${deviceId}`);
    assert.ok(x.verify(ca.publicKey) && x.checkIssued(ca) && ca.ca && !x.ca);
    assert.ok(x.publicKey.equals(laptop.publicKey), 'certifies the enrolled device key');
    // openssl agrees the chain is valid for client authentication
    writeFileSync(join(dir, 'dev.pem'), cert.certificate);
    writeFileSync(join(dir, 'ca.pem'), cert.caCertificate);
    const out = execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-attime', String(Math.floor(h.now() / 1000)), '-CAfile', join(dir, 'ca.pem'), join(dir, 'dev.pem')], { encoding: 'utf8', timeout: 20_000 });
    assert.match(out, /: OK/);
  });

  test('over TLS: the device certificate sets device.managed; without it, not', async () => {
    const managed = await get(port, serverCa, '/v1/auth/session', hana, { cert: cert.certificate, key: pem(laptop.privateKey) });
    assert.equal(managed.status, 200, JSON.stringify(managed.body));
    assert.deepEqual(managed.body.device, { managed: true, id: deviceId });
    const plain = await get(port, serverCa, '/v1/auth/session', hana);
    assert.deepEqual(plain.body.device, { managed: false, id: '' });
  });

  test('attacks: foreign CA (ignored), forged CA name, another principal, key swap, expired, revoked', async () => {
    // a certificate of an unrelated CA proves nothing: ignored, not managed
    writeFileSync(join(dir, 'laptop.key'), pem(laptop.privateKey));
    openssl(['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', join(dir, 'corp.key'), '-out', join(dir, 'corp.pem'), '-days', '2', '-subj', '/CN=Corp CA']);
    openssl(['req', '-new', '-key', join(dir, 'laptop.key'), '-out', join(dir, 'laptop.csr'), '-subj', `/CN=${deviceId}`]);
    openssl(['x509', '-req', '-in', join(dir, 'laptop.csr'), '-CA', join(dir, 'corp.pem'), '-CAkey', join(dir, 'corp.key'), '-CAcreateserial', '-out', join(dir, 'corp-dev.pem'), '-days', '1']);
    const foreign = await get(port, serverCa, '/v1/auth/session', hana, { cert: readFileSync(join(dir, 'corp-dev.pem'), 'utf8'), key: pem(laptop.privateKey) });
    assert.equal(foreign.status, 200);
    assert.deepEqual(foreign.body.device, { managed: false, id: '' });

    // a CA that copies our CA's name, signed by another key: refused
    openssl(['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', join(dir, 'fake.key'), '-out', join(dir, 'fake.pem'), '-days', '2', '-subj', '/CN=Coffer device CA']);
    openssl(['x509', '-req', '-in', join(dir, 'laptop.csr'), '-CA', join(dir, 'fake.pem'), '-CAkey', join(dir, 'fake.key'), '-CAcreateserial', '-out', join(dir, 'fake-dev.pem'), '-days', '1']);
    const forged = await get(port, serverCa, '/v1/auth/session', hana, { cert: readFileSync(join(dir, 'fake-dev.pem'), 'utf8'), key: pem(laptop.privateKey) });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.error!.code, 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID');

    // hana's certificate with ivan's token
    const other = await get(port, serverCa, '/v1/auth/session', ivan, { cert: cert.certificate, key: pem(laptop.privateKey) });
    assert.equal(other.body.error!.code, 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID');

    // a valid CA signature over another key than the one the device enrolled
    const thief = generateKeyPairSync('ed25519');
    const swapped = issueDeviceCertificate(h.runtime.identity.deviceCa, { deviceId, publicKey: thief.publicKey, now: h.now() });
    const swap = await get(port, serverCa, '/v1/auth/session', hana, { cert: swapped.pem, key: pem(thief.privateKey) });
    assert.equal(swap.body.error!.code, 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID');

    // 31 days later the certificate has expired
    h.advance(31 * 86_400_000);
    const expired = await get(port, serverCa, '/v1/auth/session', hana, { cert: cert.certificate, key: pem(laptop.privateKey) });
    assert.equal(expired.body.error!.code, 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID');
    const fresh = (await h.call<{ certificate: string }>('POST', `/v1/devices/${deviceId}/certificate`, { token: hana })).body.certificate;
    assert.deepEqual((await get(port, serverCa, '/v1/auth/session', hana, { cert: fresh, key: pem(laptop.privateKey) })).body.device, { managed: true, id: deviceId });

    // revoking the device ends its certificates at once (no CRL needed: the state is read per request)
    assert.equal((await h.call('POST', `/v1/devices/${deviceId}/revoke`, { token: h.adminToken })).status, 200);
    const revoked = await get(port, serverCa, '/v1/auth/session', hana, { cert: fresh, key: pem(laptop.privateKey) });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.error!.code, 'COFFER_AUTH_DEVICE_SIGNATURE_INVALID');
    assert.equal((await h.call('POST', `/v1/devices/${deviceId}/certificate`, { token: hana })).status, 404);
  });
});
