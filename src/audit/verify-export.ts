import type { KeyObject } from 'node:crypto';
import type { ExportedCheckpoint, VerifyResult } from './audit-event.js';
import { parseAuditPublicKey } from './audit-keys.js';
import { canonicalJson } from './canonical-json.js';
import { ChainVerifier, type ChainRecord } from './chain-verifier.js';

/** Options of {@link verifyExport}. */
export interface VerifyExportOptions {
  /** A checkpoint kept apart from the file: the file must hold that record with that hash. */
  checkpoint?: ExportedCheckpoint;
  /** Accept a file that starts after seq 1 (an export `fromSeq`); its first link is then taken on trust. */
  partial?: boolean;
}

/**
 * Verifies an audit export offline (no database): the same checks as `AuditLog.verify`
 * on the lines of `AuditLog.export`, checkpoint lines included. `input` is the file's
 * text in chunks of any size (a read stream in utf8, an array of lines, the export
 * iterable itself); it is read once, in constant memory. `publicKey` is the audit
 * public key (KeyObject or the text of exportAuditPublicKey).
 *
 * Never throws for a bad file: a line that is not JSON or not a record is reported as
 * the first bad record (`malformed`). Throws KeyringError for a bad public key text.
 */
export async function verifyExport(
  input: AsyncIterable<string> | Iterable<string>,
  publicKey: KeyObject | string,
  options: VerifyExportOptions = {},
): Promise<VerifyResult> {
  const key = typeof publicKey === 'string' ? parseAuditPublicKey(publicKey) : publicKey;
  const v = new ChainVerifier(key, { partialStart: options.partial ?? false });
  if (options.checkpoint !== undefined) v.addCheckpoint(options.checkpoint);
  let rest = '';
  const take = (line: string): boolean => {
    if (line.trim() === '') return true;
    return feedLine(v, line) === null;
  };
  outer: for await (const chunk of input) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!take(line)) break outer;
    }
  }
  if (v.fault === null) take(rest);
  return v.finish();
}

function feedLine(v: ChainVerifier, line: string): unknown {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return v.reject('malformed', 'a line of the export is not json');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return v.reject('malformed', 'a line of the export is not an object');
  const rec = o as Record<string, unknown>;
  if ('checkpoint' in rec) {
    const c = rec.checkpoint as Record<string, unknown> | null;
    if (typeof c !== 'object' || c === null || typeof c.seq !== 'number' || typeof c.hash !== 'string' || typeof c.signature !== 'string') {
      return v.reject('checkpoint', 'a checkpoint line of the export is not valid');
    }
    return v.addCheckpoint({ seq: c.seq, hash: c.hash, signature: c.signature });
  }
  let body: string;
  if (typeof rec.bodyText === 'string') {
    body = rec.bodyText;
  } else {
    try {
      body = canonicalJson(rec.body);
    } catch {
      return v.reject('malformed', 'a record body of the export cannot be canonicalized');
    }
  }
  const r: ChainRecord = { seq: rec.seq as number, body, prevHash: rec.prevHash as string, hash: rec.hash as string };
  return v.push(r);
}
