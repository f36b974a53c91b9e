/**
 * ONNX models: TensorProto entries can keep their data in external files named by an
 * `external_data` entry `location`; ONNX Runtime and onnx.load read that path relative to
 * the model. A location that is absolute or climbs out of the model folder reads (or,
 * when saving, writes) any file the loader can reach. Every TensorProto is visited:
 * graph initializers and sparse initializers, tensors in node attributes, subgraphs of
 * control-flow nodes, functions and training-info graphs.
 *
 * The walk streams the protobuf wire format (ONNX models are often gigabytes of inline
 * `raw_data`, skipped here without being held); it descends only into the message fields
 * that can lead to a TensorProto. Each `external_data` entry (a small
 * StringStringEntryProto) is decoded with @bufbuild/protobuf's BinaryReader. The stream
 * walk itself is hand-written because protobuf readers decode whole buffers.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import type { ScopedFindings } from '../core/findings.js';
import type { GateLimits } from '../core/limits.js';
import { skip, take, type Need, type PullDriver } from '../core/pull-driver.js';

type Msg = 'model' | 'graph' | 'node' | 'attribute' | 'tensor' | 'sparse' | 'function' | 'training';

/** message -> field number -> message type of that field (only fields that can lead to a tensor). */
const CHILDREN: Record<Msg, Record<number, Msg>> = {
  model: { 7: 'graph', 20: 'training', 25: 'function' },
  training: { 1: 'graph', 2: 'graph' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  function: { 7: 'node' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  tensor: {},
};
const TENSOR_EXTERNAL_DATA = 13;
const MAX_ENTRY_BYTES = 64 * 1024;

/** Why an external-data location leaves the model folder, or null when it stays inside. */
export function externalPathEscape(location: string): string | null {
  if (location.includes('\0')) return 'path contains a NUL byte';
  if (/^[A-Za-z]:/.test(location) || location.startsWith('/') || location.startsWith('\\') || location.startsWith('~')) return 'path is absolute';
  let depth = 0;
  for (const seg of location.replace(/\\/g, '/').split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '' && seg !== '.') depth++;
    if (depth < 0) return 'path climbs out of the model folder';
  }
  return null;
}

/** The ONNX parser (a PullDriver parser). */
export function* scanOnnx(findings: ScopedFindings, driver: PullDriver, limits: GateLimits): Generator<Need, void, unknown> {
  const malformed = (why: string) => findings.add('onnx-malformed', { offset: driver.offset }, why);
  const frames: { msg: Msg; end: number }[] = [{ msg: 'model', end: Infinity }];
  let tensors = 0;
  const varint = function* (): Generator<Need, number | null, unknown> {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = yield* take(1);
      if (b === null) return null;
      const byte = b[0]!;
      if (i < 8) v += (byte & 0x7f) * mul;
      mul *= 128;
      if ((byte & 0x80) === 0) return i < 8 ? v : Number.MAX_SAFE_INTEGER;
    }
    return -1;
  };
  for (;;) {
    let top = frames[frames.length - 1]!;
    while (frames.length > 1 && driver.offset >= top.end) {
      if (driver.offset > top.end) return malformed('field crosses the end of its message');
      frames.pop();
      top = frames[frames.length - 1]!;
    }
    const atTag = driver.offset;
    const tag = yield* varint();
    if (tag === null) {
      if (frames.length > 1 || atTag === 0) malformed('truncated model');
      return;
    }
    if (tag < 0) return malformed('bad varint');
    const field = Math.floor(tag / 8);
    const wire = (tag % 8) as WireType;
    if (field === 0) return malformed('field number 0');
    if (wire === WireType.Varint) {
      if ((yield* varint()) === null) return malformed('truncated varint');
    } else if (wire === WireType.Bit64 || wire === WireType.Bit32) {
      const n = wire === WireType.Bit64 ? 8 : 4;
      if ((yield* skip(n)) < n) return malformed('truncated fixed field');
    } else if (wire === WireType.LengthDelimited) {
      const len = yield* varint();
      if (len === null || len < 0) return malformed('truncated length');
      const end = driver.offset + len;
      if (end > top.end) return malformed('field longer than its message');
      const child = CHILDREN[top.msg][field];
      if (child !== undefined) {
        if (frames.length >= limits.maxProtobufDepth) {
          findings.add('scan-limit', { offset: atTag }, `messages nested deeper than ${limits.maxProtobufDepth}`);
          return;
        }
        if (child === 'tensor') tensors++;
        frames.push({ msg: child, end });
      } else if (top.msg === 'tensor' && field === TENSOR_EXTERNAL_DATA) {
        if (len > MAX_ENTRY_BYTES) return malformed('external_data entry too long');
        const body = yield* take(len);
        if (body === null) return malformed('truncated external_data entry');
        const entry = decodeEntry(body);
        if (entry === null) malformed('external_data entry is not a key/value message');
        else if (entry.key === 'location') {
          findings.collector.format('onnx-external-data');
          const why = externalPathEscape(entry.value);
          if (why !== null) findings.add('onnx-external-data-escape', { offset: atTag }, `tensor #${tensors}: ${why}`);
        }
      } else if ((yield* skip(len)) < len) return malformed('truncated field');
    } else return malformed(`unsupported wire type ${wire}`);
  }
}

/** Decodes a StringStringEntryProto (key = 1, value = 2). */
function decodeEntry(body: Uint8Array): { key: string; value: string } | null {
  try {
    const r = new BinaryReader(body);
    let key = '';
    let value = '';
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no === 1 && wt === WireType.LengthDelimited) key = r.string();
      else if (no === 2 && wt === WireType.LengthDelimited) value = r.string();
      else r.skip(wt, no);
    }
    return { key, value };
  } catch {
    return null;
  }
}
