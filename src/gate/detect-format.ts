/**
 * Recognizes an artifact's format from its first bytes (magic numbers first), then its
 * name and media type. Content wins over the name: a `.safetensors` that starts like a
 * pickle is scanned as a pickle.
 */

/** Formats the gate knows how to judge. */
export type ArtifactFormat =
  | 'zip'
  | 'pickle'
  | 'numpy'
  | 'safetensors'
  | 'onnx'
  | 'hdf5'
  | 'zlib'
  | 'gzip'
  | 'unsupported-compression'
  | 'text'
  | 'binary';

/** Kinds of text content, for the personal-data and secrets scanners. */
export type TextKind = 'csv' | 'tsv' | 'jsonl' | 'json' | 'notebook' | 'plain';

/** What the name and media type say (both optional, both untrusted). */
export interface FormatHints {
  name?: string;
  mediaType?: string;
}

const PICKLE_NAMES = /\.(pkl|pickle|pk|joblib|jl|pt|pth|bin|ckpt|dat|sav|model|npy_pickle)$/i;
const PROTOCOL0_STARTS = new Set([0x28, 0x63, 0x5d, 0x7d, 0x29, 0x49, 0x53, 0x56, 0x4e, 0x6c, 0x64, 0x69, 0x4c, 0x46]);

function ext(name: string | undefined): string {
  if (name === undefined) return '';
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
}

function startsWith(head: Uint8Array, bytes: number[], at = 0): boolean {
  if (head.length < at + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[at + i] !== bytes[i]) return false;
  return true;
}

/** True when `head` looks like text: no NUL, valid UTF-8 (a cut final character allowed), few control bytes. */
export function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return true;
  let controls = 0;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 9 || (b > 13 && b < 32)) controls++;
  }
  if (controls > head.length / 100 + 1) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, trimPartialUtf8(head)));
    return true;
  } catch {
    return false;
  }
}

/** Length of `b` without a UTF-8 sequence cut at its end. */
function trimPartialUtf8(b: Uint8Array): number {
  let i = b.length - 1;
  let back = 0;
  while (i >= 0 && back < 4 && (b[i]! & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i < 0) return b.length;
  const lead = b[i]!;
  const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return need > back ? i : b.length;
}

/** A safetensors file: 8-byte little-endian header length, then a JSON object. */
function looksLikeSafetensors(head: Uint8Array): boolean {
  // lengths past 4 GiB are named .safetensors or not safetensors at all
  return head.length >= 9 && head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] === 0 && head[8] === 0x7b;
}

/** The artifact's format. */
export function detectFormat(head: Uint8Array, hints: FormatHints = {}): ArtifactFormat {
  const e = ext(hints.name);
  const media = (hints.mediaType ?? '').toLowerCase().split(';')[0]!.trim();
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return 'numpy';
  if (startsWith(head, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]) || startsWith(head, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512)) return 'hdf5';
  if (head[0] === 0x80 && head.length > 1 && head[1]! >= 2 && head[1]! <= 5) return 'pickle';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  // zlib: 0x78 then a check byte; `x^` and `x\x01` also start text, so those need a compressed-pickle name
  if (head.length >= 2 && head[0] === 0x78 && ((head[0] << 8) | head[1]!) % 31 === 0 && (head[1] === 0x9c || head[1] === 0xda || /^(joblib|pkl|pickle|z|zlib)$/.test(e))) return 'zlib';
  if (startsWith(head, [0x42, 0x5a, 0x68]) || startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a]) || startsWith(head, [0x04, 0x22, 0x4d, 0x18]) || startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) {
    return 'unsupported-compression';
  }
  if (startsWith(head, [0x5d, 0x00, 0x00]) && /^(joblib|pkl|pickle|lzma|z)$/.test(e)) return 'unsupported-compression';
  if (looksLikeSafetensors(head) || e === 'safetensors' || media === 'application/vnd.safetensors') return 'safetensors';
  if (e === 'onnx' || media === 'application/onnx' || media === 'application/x-onnx') return 'onnx';
  if (e === 'npy') return 'numpy';
  if (looksLikeText(head)) {
    // protocol-0 pickles are ASCII: judge them as pickles when named so
    if (PICKLE_NAMES.test(hints.name ?? '') && head.length > 0 && PROTOCOL0_STARTS.has(head[0]!)) return 'pickle';
    return 'text';
  }
  if (PICKLE_NAMES.test(hints.name ?? '') || media === 'application/python-pickle' || media === 'application/x-pickle') return 'pickle';
  return 'binary';
}

/** The kind of text, from the name, the media type and the first line. */
export function detectTextKind(head: Uint8Array, hints: FormatHints = {}): TextKind {
  const e = ext(hints.name);
  const media = (hints.mediaType ?? '').toLowerCase().split(';')[0]!.trim();
  if (e === 'ipynb') return 'notebook';
  if (e === 'jsonl' || e === 'ndjson' || media === 'application/jsonl' || media === 'application/x-ndjson' || media === 'application/jsonlines') return 'jsonl';
  if (e === 'csv' || media === 'text/csv') return 'csv';
  if (e === 'tsv' || media === 'text/tab-separated-values') return 'tsv';
  if (e === 'json' || media === 'application/json') return 'json';
  const text = Buffer.from(head).toString('utf8');
  const first = text.split('\n', 1)[0]!.trim();
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (first.startsWith('{') && lines.length > 1 && lines.slice(0, -1).every((l) => l.trim().startsWith('{') && l.trim().endsWith('}'))) return 'jsonl';
  if (first.startsWith('{') || first.startsWith('[')) return 'json';
  return 'plain';
}
