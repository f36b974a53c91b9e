/**
 * safetensors validation: an 8-byte little-endian header length, a JSON header, then the
 * data section. Checked, as the reference implementation does and a little stricter:
 * the header length (bounded, within the file), the header is a JSON object of UTF-8,
 * every tensor has a known dtype, a shape of non-negative integers and `data_offsets`
 * [begin, end] whose size is shape x dtype size; tensors cover the data section exactly
 * (no overlap, no gap, nothing after the last one); `__metadata__` maps strings to
 * strings. The data section is skipped, never held.
 */
import type { ScopedFindings } from '../core/findings.js';
import type { GateLimits } from '../core/limits.js';
import { skip, take, type Need, type PullDriver } from '../core/pull-driver.js';

/** Bits per element of every dtype safetensors defines. */
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, C64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

/** The safetensors parser (a PullDriver parser). `onHeader` receives the header text (for the secrets scanner). */
export function* scanSafetensors(findings: ScopedFindings, driver: PullDriver, limits: GateLimits, onHeader: (header: Uint8Array) => void): Generator<Need, void, unknown> {
  const invalid = (offset: number, why: string) => findings.add('safetensors-invalid', { offset }, why);
  const lenBytes = yield* take(8);
  if (lenBytes === null) return invalid(0, 'shorter than its header length');
  const declared = Buffer.from(lenBytes).readBigUInt64LE(0);
  // INVARIANT: nothing is allocated from a declared length before it is bounded
  if (declared > BigInt(limits.maxJsonBytes)) return invalid(0, `header length ${declared} beyond the ${limits.maxJsonBytes}-byte limit`);
  const n = Number(declared);
  const header = yield* take(n);
  if (header === null) return invalid(0, 'header length beyond the end of the file');
  onHeader(header);
  let parsed: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(header);
    if (!text.startsWith('{')) throw new Error('not an object');
    parsed = JSON.parse(text);
  } catch {
    return invalid(8, 'header is not a UTF-8 JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return invalid(8, 'header is not a JSON object');
  const spans: { begin: number; end: number; name: string }[] = [];
  let bad = 0;
  const report = (why: string) => {
    if (bad++ < 20) invalid(8, why);
  };
  let index = 0;
  for (const [name, info] of Object.entries(parsed as Record<string, unknown>)) {
    index++;
    const label = `tensor #${index}`;
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info) || Object.values(info).some((v) => typeof v !== 'string')) report('__metadata__ is not a map of strings to strings');
      continue;
    }
    if (typeof info !== 'object' || info === null || Array.isArray(info)) {
      report(`${label}: not an object`);
      continue;
    }
    const t = info as Record<string, unknown>;
    const extra = Object.keys(t).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length > 0) report(`${label}: unknown keys`);
    const bits = typeof t.dtype === 'string' ? DTYPE_BITS[t.dtype] : undefined;
    if (bits === undefined) {
      report(`${label}: unknown dtype`);
      continue;
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      report(`${label}: shape is not a list of non-negative integers`);
      continue;
    }
    const offsets = t.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) || (offsets[0] as number) > (offsets[1] as number)) {
      report(`${label}: data_offsets is not [begin, end] with begin <= end`);
      continue;
    }
    let elems = 1n;
    for (const d of shape as number[]) elems *= BigInt(d);
    const totalBits = elems * BigInt(bits);
    const [begin, end] = offsets as [number, number];
    if (totalBits % 8n !== 0n || totalBits / 8n !== BigInt(end - begin)) report(`${label}: size is not shape x dtype size`);
    spans.push({ begin, end, name: label });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of spans) {
    if (s.begin < cursor) report(`${s.name}: overlaps another tensor`);
    else if (s.begin > cursor) report(`${s.name}: gap before it in the data section`);
    cursor = Math.max(cursor, s.end);
  }
  const dataStart = driver.offset;
  const got = yield* skip(cursor);
  if (got < cursor) return invalid(dataStart + got, 'data section shorter than the tensors need');
  const more = yield* take(1);
  if (more !== null) invalid(driver.offset - 1, 'bytes after the last tensor');
}
