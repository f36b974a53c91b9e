import type { Readable } from 'node:stream';

/** One record of `GET /v1/audit/export` (a JSON line), as tests read it. */
export interface ExportedRecord {
  seq: number;
  prevHash: string;
  hash: string;
  body: {
    seq: number;
    time: number;
    requestId: string;
    actor: { id: string; name: string; kind: string } | null;
    action: string;
    resource: string;
    decision: 'allow' | 'deny';
    policies: string[];
    outcome: 'attempt' | 'success' | 'failure' | 'denied';
    bytes: number | null;
    reason: string | null;
    context: Record<string, unknown>;
  };
}

/** Parses an audit export (JSON Lines text); checkpoint lines are skipped. */
export function parseAuditExport(text: string): ExportedRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExportedRecord & { checkpoint?: unknown })
    .filter((r) => r.checkpoint === undefined);
}

/** Reads a whole stream as UTF-8 text. */
export async function readText(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

/** The records matching every given field of the body (actor matched by name). */
export function findRecords(records: ExportedRecord[], match: Partial<Omit<ExportedRecord['body'], 'actor'>> & { actor?: string | null }): ExportedRecord[] {
  return records.filter((r) =>
    Object.entries(match).every(([k, v]) => {
      if (k === 'actor') return v === null ? r.body.actor === null : r.body.actor?.name === v;
      return (r.body as unknown as Record<string, unknown>)[k] === v;
    }),
  );
}
