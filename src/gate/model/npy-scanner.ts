/**
 * numpy .npy files: the header (a Python dict literal) says the dtype; an object dtype
 * (`|O`, or a structured dtype with an object field) means the data is a pickle, which
 * `np.load(allow_pickle=True)` runs. That pickle is judged like any other.
 */
import type { ScopedFindings } from '../core/findings.js';
import { take, type Need, type PullDriver } from '../core/pull-driver.js';
import { scanPickleStream, type PickleScanContext } from '../pickle/pickle-scanner.js';
import { parsePythonLiteral, type PyLiteral } from './python-literal.js';

/** numpy refuses longer headers by default (`max_header_size`); so does this scanner, with a margin. */
const MAX_HEADER = 1024 * 1024;

/** Whether a dtype description (a typestr or a list of fields) holds Python objects. */
export function dtypeHasObject(descr: PyLiteral): boolean {
  const stack: PyLiteral[] = [descr];
  let steps = 0;
  while (stack.length > 0 && steps++ < 100_000) {
    const d = stack.pop()!;
    if (typeof d === 'string' && /^[<>|=]?O\d*$/.test(d)) return true;
    if (Array.isArray(d)) stack.push(...d);
  }
  return false;
}

/** The .npy parser (a PullDriver parser). */
export function* scanNpy(ctx: PickleScanContext, findings: ScopedFindings, driver: PullDriver): Generator<Need, void, unknown> {
  const magic = yield* take(8);
  if (magic === null) return findings.add('npy-malformed', { offset: 0 }, 'truncated header');
  const major = magic[6]!;
  let headerLen: number;
  if (major === 1) {
    const b = yield* take(2);
    if (b === null) return findings.add('npy-malformed', { offset: 8 }, 'truncated header');
    headerLen = b[0]! | (b[1]! << 8);
  } else if (major === 2 || major === 3) {
    const b = yield* take(4);
    if (b === null) return findings.add('npy-malformed', { offset: 8 }, 'truncated header');
    headerLen = Buffer.from(b).readUInt32LE(0);
  } else return findings.add('npy-malformed', { offset: 6 }, `unknown format version ${major}`);
  if (headerLen > MAX_HEADER) return findings.add('npy-malformed', { offset: 8 }, 'header longer than numpy accepts');
  const header = yield* take(headerLen);
  if (header === null) return findings.add('npy-malformed', { offset: driver.offset }, 'truncated header');
  let descr: PyLiteral;
  try {
    const dict = parsePythonLiteral(Buffer.from(header).toString(major === 3 ? 'utf8' : 'latin1').trim());
    if (!(dict instanceof Map) || !dict.has('descr')) throw new Error('no descr');
    descr = dict.get('descr')!;
  } catch {
    return findings.add('npy-malformed', { offset: 10 }, 'header is not a numpy header dict');
  }
  if (!dtypeHasObject(descr)) return;
  // an object array is not a finding by itself: its pickle is judged like any other
  findings.collector.format('npy-object-array');
  yield* scanPickleStream(ctx, 1);
}
