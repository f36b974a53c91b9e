import { X509Certificate, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_kp_clientAuth,
} from '@peculiar/asn1-x509';
import { DeviceSignatureInvalidError } from '../domain/errors.js';
import type { MetadataStore } from '../store/metadata-store.js';
import type { SigningKey } from './identity-keys.js';

const ED25519_OID = '1.3.101.112';
const COMMON_NAME_OID = '2.5.4.3';
const CA_NAME = 'Coffer device CA';
const CA_CERT_SETTING = 'identity/device-ca-certificate';
const CA_YEARS = 20;
/** Lifetime of a device certificate: short, so a lost laptop's certificate dies on its own too. */
export const DEVICE_CERT_DAYS = 30;
const DEVICE_ID = /^dev_[A-Za-z0-9_-]{1,60}$/;

/** Coffer's device CA: its Ed25519 key (wrapped by the keyring at rest) and its self-signed certificate. */
export interface DeviceCa {
  key: SigningKey;
  certificate: X509Certificate;
  /** PEM of the CA certificate (public; clients and proxies may pin it). */
  pem: string;
}

function name(cn: string): Name {
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: COMMON_NAME_OID, value: new AttributeValue({ utf8String: cn }) })])]);
}

function ext(id: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** Builds and signs an X.509 v3 certificate with the CA's Ed25519 key. */
function buildCertificate(input: { signer: KeyObject; issuer: string; subject: string; subjectKey: KeyObject; notBefore: number; notAfter: number; ca: boolean }): Buffer {
  const serial = randomBytes(16);
  // a positive INTEGER in minimal DER form: top bit clear (positive) and a non-zero first
  // byte (a leading zero before a byte < 0x80 is not minimal and OpenSSL rejects the certificate)
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const extensions = input.ca
    ? [ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })), ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign))]
    : [ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })), ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)), ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_clientAuth]))];
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: new AlgorithmIdentifier({ algorithm: ED25519_OID }),
    issuer: name(input.issuer),
    validity: new Validity({ notBefore: new Date(input.notBefore), notAfter: new Date(input.notAfter) }),
    subject: name(input.subject),
    subjectPublicKeyInfo: AsnConvert.parse(input.subjectKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
    extensions: new Extensions(extensions),
  });
  const signature = sign(null, Buffer.from(AsnConvert.serialize(tbs)), input.signer);
  return Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ED25519_OID }), signatureValue: new Uint8Array(signature).buffer })));
}

/**
 * Loads the device CA certificate for `key` (or creates it at first start; concurrent
 * first starts agree by compare-and-set). The certificate is public and kept in
 * settings; the key is one of the identity keys, wrapped by the keyring. A stored
 * certificate of another key (never expected) is replaced.
 */
export async function loadDeviceCa(store: MetadataStore, key: SigningKey, now: number): Promise<DeviceCa> {
  const stored = await store.getSetting(CA_CERT_SETTING);
  if (stored !== null) {
    const cert = new X509Certificate(Buffer.from(stored));
    if (cert.publicKey.equals(key.publicKey) && cert.verify(key.publicKey)) return { key, certificate: cert, pem: cert.toString() };
  }
  const der = buildCertificate({ signer: key.privateKey, issuer: CA_NAME, subject: CA_NAME, subjectKey: key.publicKey, notBefore: now - 3600_000, notAfter: now + CA_YEARS * 365 * 86_400_000, ca: true });
  if (!(await store.putSetting(CA_CERT_SETTING, der, stored))) return loadDeviceCa(store, key, now);
  const cert = new X509Certificate(der);
  return { key, certificate: cert, pem: cert.toString() };
}

/**
 * Issues a client certificate for an approved device: subject CN = device id, the
 * device's own enrolled Ed25519 public key, client authentication only, valid
 * {@link DEVICE_CERT_DAYS} days. The caller checks approval and ownership first.
 */
export function issueDeviceCertificate(ca: DeviceCa, input: { deviceId: string; publicKey: KeyObject; now: number }): { pem: string; serial: string; notAfter: string } {
  const der = buildCertificate({ signer: ca.key.privateKey, issuer: CA_NAME, subject: input.deviceId, subjectKey: input.publicKey, notBefore: input.now - 60_000, notAfter: input.now + DEVICE_CERT_DAYS * 86_400_000, ca: false });
  const cert = new X509Certificate(der);
  return { pem: cert.toString(), serial: cert.serialNumber, notAfter: new Date(cert.validTo).toISOString() };
}

/** A client certificate that chains to the device CA: the device id it names and its public key. */
export interface DeviceCertificateFacts {
  deviceId: string;
  publicKey: KeyObject;
  serial: string;
}

/**
 * Checks a TLS client certificate against the device CA, in code (the TLS layer
 * accepts any certificate so that browsers with unrelated certificates still connect).
 * Returns null when the certificate was not issued by this CA (not a Coffer device
 * certificate: it proves nothing and changes nothing). A certificate that names this CA
 * but fails the signature, the validity window, or is a CA itself is refused.
 */
export function verifyDeviceCertificate(ca: DeviceCa, der: Uint8Array, now: number): DeviceCertificateFacts | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(der));
  } catch {
    return null;
  }
  if (!cert.checkIssued(ca.certificate)) return null;
  // INVARIANT: managed only through a certificate this CA's key signed, within its validity, naming a device
  if (!cert.verify(ca.key.publicKey)) throw new DeviceSignatureInvalidError(undefined, { detail: 'device certificate: bad signature' });
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw new DeviceSignatureInvalidError(undefined, { detail: 'device certificate: outside its validity' });
  if (cert.ca) throw new DeviceSignatureInvalidError(undefined, { detail: 'device certificate: is a CA' });
  const cn = /^CN=(.+)$/.exec(cert.subject.trim())?.[1];
  if (cn === undefined || !DEVICE_ID.test(cn)) throw new DeviceSignatureInvalidError(undefined, { detail: 'device certificate: no device id' });
  return { deviceId: cn, publicKey: cert.publicKey, serial: cert.serialNumber };
}
