/**
 * OpenSSF Model Signing, key-based: a Sigstore bundle (v0.3) holding a DSSE envelope over
 * the model's in-toto statement, signed with a private key; no Fulcio certificate, no
 * Rekor entry (`tlogEntries` is empty), so signing and verification work offline with only
 * the key pair. Interoperates with the reference `model_signing` library's `key` method:
 * ECDSA P-256/P-384/P-521 with SHA-256/384/512, DER signatures, and the public key named
 * by a hint, the SHA-256 hex of its PEM SubjectPublicKeyInfo. Ed25519 keys are also
 * accepted here (an extension: the reference accepts elliptic-curve keys only).
 *
 * The bundle is built and read with @sigstore/bundle, the DSSE pre-authentication
 * encoding and signature check come from @sigstore/core.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON, isBundleWithDsseEnvelope, toDSSEBundle, BUNDLE_V03_MEDIA_TYPE } from '@sigstore/bundle';
import { crypto as sigCrypto, dsse } from '@sigstore/core';
import { ModelSignatureInvalidError } from '../../domain/errors.js';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement, statementPayload, type ModelManifest } from './model-manifest.js';

/** Key algorithms for signing. */
export type SigningAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519';

/** A generated key pair, PEM encoded (PKCS#8 private, SPKI public). */
export interface SigningKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A new key pair for model signing (ECDSA P-256 by default, as the reference's examples). */
export function generateSigningKey(algorithm: SigningAlgorithm = 'ecdsa-p256'): SigningKeyPair {
  const pair =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: algorithm === 'ecdsa-p384' ? 'P-384' : 'P-256' });
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** The hash a key signs with (the reference ties it to the curve), or null for Ed25519. */
function hashFor(key: KeyObject): 'sha256' | 'sha384' | 'sha512' | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType !== 'ec') throw new ModelSignatureInvalidError('only elliptic-curve (P-256, P-384, P-521) and Ed25519 keys are supported');
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case 'prime256v1':
      return 'sha256';
    case 'secp384r1':
      return 'sha384';
    case 'secp521r1':
      return 'sha512';
    default:
      throw new ModelSignatureInvalidError('unsupported elliptic curve');
  }
}

/** The public key's hint as the reference writes it: SHA-256 hex of its PEM SubjectPublicKeyInfo. */
export function publicKeyHint(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const pem = key.export({ type: 'spki', format: 'pem' }) as string;
  return sigCrypto.digest('sha256', pem).toString('hex');
}

/** Signs a manifest; returns the bundle as JSON text (what `model.sig` holds). */
export function signModel(manifest: ModelManifest, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.type !== 'private') throw new ModelSignatureInvalidError('a private key is needed to sign');
  const payload = statementPayload(manifest);
  const pae = dsse.preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload);
  const signature = nodeSign(hashFor(key), pae, key);
  const hint = publicKeyHint(createPublicKey(key));
  const json = bundleToJSON(toDSSEBundle({ artifact: payload, artifactType: IN_TOTO_PAYLOAD_TYPE, signature, keyHint: hint }));
  // the layout the reference library writes: an explicit empty transparency log, an empty key id
  json.verificationMaterial = { publicKey: { hint }, tlogEntries: [] } as unknown as typeof json.verificationMaterial;
  for (const s of json.dsseEnvelope?.signatures ?? []) s.keyid = '';
  return JSON.stringify(json);
}

/** What a verified signature says. */
export interface VerifiedModelSignature extends ModelManifest {
  /** Hint of the key that verified it. */
  keyHint: string;
}

/**
 * Verifies a bundle with the given public key, offline, and returns the signed manifest.
 * Throws ModelSignatureInvalidError on anything short of a valid signature by that key
 * over a well-formed model statement. Key material inside the bundle is never trusted.
 */
export function verifyModelSignature(bundleJson: string, publicKey: KeyObject | string): VerifiedModelSignature {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const hash = hashFor(key);
  const hint = publicKeyHint(key);
  let raw: unknown;
  try {
    raw = JSON.parse(bundleJson);
  } catch {
    throw new ModelSignatureInvalidError('signature bundle is not JSON');
  }
  let bundle: ReturnType<typeof bundleFromJSON>;
  try {
    bundle = bundleFromJSON(raw);
  } catch {
    throw new ModelSignatureInvalidError('signature is not a valid sigstore bundle');
  }
  if (bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE) throw new ModelSignatureInvalidError('signature bundle is not a v0.3 bundle');
  if (!isBundleWithDsseEnvelope(bundle)) throw new ModelSignatureInvalidError('signature bundle holds no DSSE envelope');
  const material = bundle.verificationMaterial.content;
  // INVARIANT: the key comes from the caller; a key inside the bundle only has to agree with it
  if (material.$case === 'publicKey' && material.publicKey.hint !== '' && material.publicKey.hint !== hint) {
    throw new ModelSignatureInvalidError('signature was made with another key');
  }
  if (material.$case !== 'publicKey') throw new ModelSignatureInvalidError('signature is not key-based (certificate signatures are not supported offline)');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new ModelSignatureInvalidError('signed payload is not an in-toto statement');
  if (envelope.signatures.length !== 1) throw new ModelSignatureInvalidError('signature bundle must hold exactly one signature');
  const pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  if (!sigCrypto.verify(pae, key, envelope.signatures[0]!.sig, hash ?? undefined)) throw new ModelSignatureInvalidError('signature does not verify with this key');
  return { ...parseStatement(envelope.payload), keyHint: hint };
}

/**
 * Checks files against a verified manifest: the same names, each with its signed digest.
 * Throws ModelSignatureInvalidError naming the first difference.
 */
export function checkModelFiles(signed: ModelManifest, files: { name: string; sha256: string }[]): void {
  const want = new Map(signed.resources.map((r) => [r.name, r.digest]));
  const seen = new Set<string>();
  for (const f of files) {
    const digest = want.get(f.name);
    if (digest === undefined) throw new ModelSignatureInvalidError(`file \`${f.name}\` is not covered by the signature`);
    if (digest !== f.sha256.toLowerCase()) throw new ModelSignatureInvalidError(`file \`${f.name}\` differs from the signed file`);
    seen.add(f.name);
  }
  for (const name of want.keys()) if (!seen.has(name)) throw new ModelSignatureInvalidError(`signed file \`${name}\` is missing`);
}
