import { sign, verify, type KeyObject } from 'node:crypto';
import type { ExportedCheckpoint } from './audit-event.js';
import { GENESIS_HASH, isHash } from './audit-record.js';

const CONTEXT = Buffer.from('coffer.audit.checkpoint.v1\0', 'ascii');

/**
 * The bytes a checkpoint signs: the ASCII context `coffer.audit.checkpoint.v1` and a
 * NUL (so these signatures can never be mistaken for any other use of the key), then
 * `seq` as 8 bytes big-endian, then the 32 bytes of the chain hash of record `seq`.
 */
export function checkpointMessage(seq: number, hash: string): Buffer {
  const out = Buffer.alloc(CONTEXT.length + 8 + 32);
  CONTEXT.copy(out, 0);
  out.writeBigUInt64BE(BigInt(seq), CONTEXT.length);
  Buffer.from(hash, 'hex').copy(out, CONTEXT.length + 8);
  return out;
}

/** Signs record `seq` with chain hash `hash` (Ed25519). */
export function signCheckpoint(signingKey: KeyObject, seq: number, hash: string): ExportedCheckpoint {
  const signature = sign(null, checkpointMessage(seq, hash), signingKey).toString('hex');
  return { seq, hash, signature };
}

/**
 * True if `cp` is well formed and its signature verifies under `publicKey`. A
 * checkpoint of seq 0 (an empty chain) is valid only with the genesis hash.
 */
export function checkpointSignatureValid(publicKey: KeyObject, cp: ExportedCheckpoint): boolean {
  if (!Number.isSafeInteger(cp.seq) || cp.seq < 0 || !isHash(cp.hash)) return false;
  if (typeof cp.signature !== 'string' || !/^[0-9a-f]{128}$/.test(cp.signature)) return false;
  if (cp.seq === 0 && cp.hash !== GENESIS_HASH) return false;
  try {
    return verify(null, checkpointMessage(cp.seq, cp.hash), publicKey, Buffer.from(cp.signature, 'hex'));
  } catch {
    // a key of another type than Ed25519: nothing verifies under it
    return false;
  }
}
