import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { DeviceSignatureInvalidError } from '../domain/errors.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { DEVICE_CERT_DAYS, issueDeviceCertificate, loadDeviceCa, verifyDeviceCertificate } from './device-ca.js';
import { signingKeyFromSeed } from './identity-keys.js';

/** Just the two settings calls loadDeviceCa makes, with compare-and-set. */
function settings(): Pick<MetadataStore, 'getSetting' | 'putSetting'> {
  const m = new Map<string, Uint8Array>();
  return {
    getSetting: async (k) => m.get(k) ?? null,
    putSetting: async (k, v, expected) => {
      const cur = m.get(k) ?? null;
      if (expected !== undefined && ((cur === null) !== (expected === null) || (cur !== null && expected !== null && !Buffer.from(cur).equals(Buffer.from(expected))))) return false;
      m.set(k, v);
      return true;
    },
  };
}

const NOW = Date.UTC(2030, 0, 1);
const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

test('the CA certificate is created once and reloaded; device certificates verify and name the device', async () => {
  const store = settings() as MetadataStore;
  const key = signingKeyFromSeed(randomBytes(32));
  const ca = await loadDeviceCa(store, key, NOW);
  const again = await loadDeviceCa(store, key, NOW + 1000);
  assert.equal(again.pem, ca.pem);
  assert.ok(ca.certificate.ca);
  const device = generateKeyPairSync('ed25519');
  const cert = issueDeviceCertificate(ca, { deviceId: 'dev_abc', publicKey: device.publicKey, now: NOW });
  const facts = verifyDeviceCertificate(ca, der(cert.pem), NOW + 1000)!;
  assert.equal(facts.deviceId, 'dev_abc');
  assert.ok(facts.publicKey.equals(device.publicKey));
  assert.equal(Date.parse(cert.notAfter), Math.floor((NOW + DEVICE_CERT_DAYS * 86_400_000) / 1000) * 1000);
});

test('refused: our CA name under another key, expired, not yet valid, the CA itself; ignored: not a certificate', async () => {
  const ca = await loadDeviceCa(settings() as MetadataStore, signingKeyFromSeed(randomBytes(32)), NOW);
  const other = await loadDeviceCa(settings() as MetadataStore, signingKeyFromSeed(randomBytes(32)), NOW);
  const device = generateKeyPairSync('ed25519');
  const foreign = issueDeviceCertificate(other, { deviceId: 'dev_abc', publicKey: device.publicKey, now: NOW });
  // same CA name, other key: names our CA, so it is checked, and its signature fails
  assert.throws(() => verifyDeviceCertificate(ca, der(foreign.pem), NOW), DeviceSignatureInvalidError);
  const cert = der(issueDeviceCertificate(ca, { deviceId: 'dev_abc', publicKey: device.publicKey, now: NOW }).pem);
  assert.throws(() => verifyDeviceCertificate(ca, cert, NOW + (DEVICE_CERT_DAYS + 1) * 86_400_000), DeviceSignatureInvalidError);
  assert.throws(() => verifyDeviceCertificate(ca, cert, NOW - 3_600_000), DeviceSignatureInvalidError);
  assert.throws(() => verifyDeviceCertificate(ca, ca.certificate.raw, NOW), DeviceSignatureInvalidError);
  assert.equal(verifyDeviceCertificate(ca, randomBytes(300), NOW), null);
});

test('every issued certificate parses: serial numbers are minimal positive DER integers (regression: ~1 in 256 failed)', async () => {
  const store = settings() as MetadataStore;
  const ca = await loadDeviceCa(store, signingKeyFromSeed(randomBytes(32)), NOW);
  const { publicKey } = generateKeyPairSync('ed25519');
  for (let i = 0; i < 600; i++) {
    const issued = issueDeviceCertificate(ca, { deviceId: `dev_${i}`, publicKey, now: NOW });
    assert.match(issued.serial, /^[4-7][0-9A-F]/i);
  }
});
