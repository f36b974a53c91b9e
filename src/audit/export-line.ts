import type { StoredAuditCheckpoint, StoredAuditRecord } from '../store/metadata-store.js';
import { canonicalJson } from './canonical-json.js';

/**
 * One line of an audit export (with its `\n`):
 * `{"seq":N,"body":{...},"prevHash":"<hex>","hash":"<hex>"}`, where `body` is the
 * stored canonical body embedded as is, so canonicalJson(line.body) gives back the
 * hashed bytes. A stored body that is not canonical JSON (a tampered one) is kept
 * verbatim as the string `bodyText` instead, so the export stays faithful and an
 * offline verifier sees the same fault as `verify`.
 */
export function exportLine(r: StoredAuditRecord): string {
  const seq = JSON.stringify(r.seq);
  const prevHash = JSON.stringify(r.prevHash);
  const hash = JSON.stringify(r.hash);
  if (isCanonicalJsonObject(r.body)) return `{"seq":${seq},"body":${r.body},"prevHash":${prevHash},"hash":${hash}}\n`;
  return `{"seq":${seq},"bodyText":${JSON.stringify(r.body)},"prevHash":${prevHash},"hash":${hash}}\n`;
}

/** A signed checkpoint as an export line: `{"checkpoint":{"seq","hash","signature","createdAt"}}`. */
export function checkpointLine(c: StoredAuditCheckpoint): string {
  return `${JSON.stringify({ checkpoint: { seq: c.seq, hash: c.hash, signature: c.signature, createdAt: c.createdAt } })}\n`;
}

function isCanonicalJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) && canonicalJson(v) === text;
  } catch {
    return false;
  }
}
