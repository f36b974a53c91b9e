/**
 * The payload of an OpenSSF Model Signing signature (predicate
 * `https://model_signing/signature/v1.0`, as the reference `model_signing` library
 * writes it): an in-toto Statement v1 whose predicate lists every file of the model
 * (`resources`: name, algorithm, hex digest, sorted by name) and how they were serialized
 * (`serialization`), and whose single subject is the model, named, with a SHA-256 over the
 * concatenated raw digests of the resources in that order.
 */
import { createHash } from 'node:crypto';
import { ModelSignatureInvalidError } from '../../domain/errors.js';

/** in-toto statement type. */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The model signature predicate, v1.0. */
export const MODEL_SIGNING_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';

/** One signed file of a model. */
export interface ModelResource {
  /** POSIX path relative to the model's root. */
  name: string;
  /** Only `sha256` is produced and accepted. */
  algorithm: 'sha256';
  /** Lowercase hex. */
  digest: string;
}

/** A model's manifest: its name, its files and how they were hashed. */
export interface ModelManifest {
  modelName: string;
  resources: ModelResource[];
  serialization: { method: 'files'; hash_type: 'sha256'; allow_symlinks: boolean; ignore_paths?: string[] };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Why a resource name is refused (absolute, climbing out, empty segments), or null. */
export function resourceNameProblem(name: string): string | null {
  if (name === '.') return null;
  if (name === '' || name.startsWith('/') || name.includes('\\') || name.includes('\0') || /^[A-Za-z]:/.test(name)) return 'not a relative POSIX path';
  if (name.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) return 'has an empty, `.` or `..` segment';
  return null;
}

/** A manifest over files given as (name, SHA-256 hex) pairs; sorted by name, checked. */
export function buildManifest(modelName: string, files: { name: string; sha256: string }[], ignorePaths: string[] = []): ModelManifest {
  const seen = new Set<string>();
  const resources: ModelResource[] = [];
  for (const f of files) {
    const problem = resourceNameProblem(f.name);
    if (problem !== null) throw new ModelSignatureInvalidError(`file name \`${f.name}\` ${problem}`);
    if (seen.has(f.name)) throw new ModelSignatureInvalidError(`file \`${f.name}\` listed twice`);
    if (!HEX64.test(f.sha256)) throw new ModelSignatureInvalidError(`digest of \`${f.name}\` is not a SHA-256 hex digest`);
    seen.add(f.name);
    resources.push({ name: f.name, algorithm: 'sha256', digest: f.sha256 });
  }
  // the reference orders resources by name (Python's str ordering: code points)
  resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { modelName, resources, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ignorePaths } };
}

/** SHA-256 over the raw digests of the resources, in order: the statement's subject digest. */
export function rootDigest(resources: ModelResource[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(Buffer.from(r.digest, 'hex'));
  return h.digest('hex');
}

/** The in-toto statement of a manifest, as JSON bytes (the DSSE payload). */
export function statementPayload(m: ModelManifest): Buffer {
  const statement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: m.modelName, digest: { sha256: rootDigest(m.resources) } }],
    predicateType: MODEL_SIGNING_PREDICATE_TYPE,
    predicate: { serialization: m.serialization, resources: m.resources },
  };
  return Buffer.from(JSON.stringify(statement, null, 2), 'utf8');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a verified payload back into a manifest, checking what the reference checks
 * (statement type, predicate type, one subject, the subject digest over the resources)
 * and more (resource names, algorithms, digests, no duplicates).
 */
export function parseStatement(payload: Buffer): ModelManifest {
  const bad = (why: string) => new ModelSignatureInvalidError(`signed statement ${why}`);
  let s: unknown;
  try {
    s = JSON.parse(payload.toString('utf8'));
  } catch {
    throw bad('is not JSON');
  }
  if (!isObject(s) || s._type !== IN_TOTO_STATEMENT_TYPE) throw bad('is not an in-toto statement v1');
  if (s.predicateType !== MODEL_SIGNING_PREDICATE_TYPE) throw bad('has another predicate type');
  if (!Array.isArray(s.subject) || s.subject.length !== 1 || !isObject(s.subject[0])) throw bad('must have exactly one subject');
  const subject = s.subject[0];
  const digest = isObject(subject.digest) ? subject.digest.sha256 : undefined;
  if (typeof subject.name !== 'string' || typeof digest !== 'string') throw bad('subject has no name or sha256 digest');
  const predicate = s.predicate;
  if (!isObject(predicate) || !Array.isArray(predicate.resources) || !isObject(predicate.serialization)) throw bad('has no resources or serialization');
  const ser = predicate.serialization;
  if (ser.method !== 'files' || ser.hash_type !== 'sha256') throw bad('uses a serialization this verifier does not support (files, sha256 only)');
  const files: { name: string; sha256: string }[] = [];
  for (const r of predicate.resources) {
    if (!isObject(r) || typeof r.name !== 'string' || r.algorithm !== 'sha256' || typeof r.digest !== 'string') throw bad('has a resource that is not a sha256 file digest');
    files.push({ name: r.name, sha256: r.digest });
  }
  const manifest = buildManifest(subject.name, files, Array.isArray(ser.ignore_paths) ? ser.ignore_paths.filter((p): p is string => typeof p === 'string') : []);
  manifest.serialization.allow_symlinks = ser.allow_symlinks === true;
  // INVARIANT: the subject digest covers exactly the listed resources, in the signed order
  const signedOrder = files.map((f) => ({ name: f.name, algorithm: 'sha256' as const, digest: f.sha256 }));
  if (rootDigest(signedOrder) !== digest) throw bad('subject digest does not match its resources');
  return manifest;
}
