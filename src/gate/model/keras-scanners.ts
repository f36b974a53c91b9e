/**
 * Stream scanners for Keras configs: a `config.json` fed whole (bounded), and the
 * `model_config` JSON found inside an HDF5 (.h5) file.
 *
 * What the HDF5 scan covers: h5py stores the `model_config` attribute as a string in the
 * file, contiguous and uncompressed (HDF5 cannot filter attributes, and Keras writes it
 * as one string). The scan finds each JSON object that starts with `{"class_name"` in the
 * byte stream, reads it out with a brace matcher that respects JSON strings (bounded by
 * maxJsonBytes), and judges it. It does not parse HDF5 structures: a file that mentions
 * `model_config` but yields no parsable config is `unscannable` rather than clean.
 */
import type { ScopedFindings } from '../core/findings.js';
import type { GateLimits } from '../core/limits.js';
import type { StreamScanner } from '../core/stream-scanner.js';
import { judgeKerasConfigText } from './keras-config.js';

/** Buffers a JSON document (up to maxJsonBytes) and judges it as a Keras config at the end. */
export class KerasConfigScanner implements StreamScanner {
  private parts: Uint8Array[] = [];
  private size = 0;
  private over = false;

  constructor(
    private readonly findings: ScopedFindings,
    private readonly limits: GateLimits,
  ) {}

  get done(): boolean {
    return this.over;
  }

  write(chunk: Uint8Array): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.limits.maxJsonBytes) {
      this.over = true;
      this.parts = [];
      this.findings.add('scan-limit', { offset: 0 }, 'keras config larger than the JSON limit');
      return;
    }
    this.parts.push(chunk.slice());
  }

  end(): void {
    if (this.over) return;
    this.findings.collector.format('keras-config');
    judgeKerasConfigText(Buffer.concat(this.parts).toString('utf8'), this.findings, { offset: 0 });
    this.parts = [];
  }
}

const START = Buffer.from('{"class_name"');
const MENTION = Buffer.from('model_config');

/** Finds and judges Keras configs inside an HDF5 byte stream. */
export class H5KerasScanner implements StreamScanner {
  private carry: Buffer = Buffer.alloc(0);
  private carryOffset = 0;
  private offset = 0;
  private mentions = 0;
  private configs = 0;
  /** The JSON object being read out, if any. */
  private json: { parts: Buffer[]; size: number; depth: number; inString: boolean; escape: boolean; at: number } | null = null;

  constructor(
    private readonly findings: ScopedFindings,
    private readonly limits: GateLimits,
  ) {}

  readonly done = false;

  write(chunk: Uint8Array): void {
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const base = this.carry.length > 0 ? this.carryOffset : this.offset;
    this.offset += chunk.length;
    let pos = 0;
    while (pos < buf.length) {
      if (this.json !== null) {
        pos = this.readJson(buf, pos);
        continue;
      }
      const mention = buf.indexOf(MENTION, pos);
      const start = buf.indexOf(START, pos);
      if (mention >= 0 && (start < 0 || mention < start)) {
        this.mentions++;
        pos = mention + MENTION.length;
        continue;
      }
      if (start < 0) break;
      this.json = { parts: [], size: 0, depth: 0, inString: false, escape: false, at: base + start };
      pos = start;
    }
    // keep enough to find a marker cut between chunks
    const keep = this.json === null ? Math.min(buf.length, Math.max(START.length, MENTION.length) - 1) : 0;
    this.carry = Buffer.from(buf.subarray(buf.length - keep));
    this.carryOffset = base + buf.length - keep;
  }

  end(): void {
    this.findings.collector.format('hdf5');
    if (this.json !== null) this.findings.add('scan-limit', { offset: this.json.at }, 'keras config cut by the end of the file');
    else if (this.mentions > 0 && this.configs === 0) this.findings.add('scan-limit', { offset: 0 }, 'model_config present but not readable as plain JSON');
  }

  /** Brace-matches the JSON object in progress from `pos`; returns where it stopped. */
  private readJson(buf: Buffer, pos: number): number {
    const j = this.json!;
    let i = pos;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (j.inString) {
        if (j.escape) j.escape = false;
        else if (c === 0x5c) j.escape = true;
        else if (c === 0x22) j.inString = false;
        continue;
      }
      if (c === 0x22) j.inString = true;
      else if (c === 0x7b) j.depth++;
      else if (c === 0x7d && --j.depth === 0) {
        i++;
        break;
      }
    }
    j.parts.push(Buffer.from(buf.subarray(pos, i)));
    j.size += i - pos;
    if (j.size > this.limits.maxJsonBytes) {
      this.findings.add('scan-limit', { offset: j.at }, 'keras config larger than the JSON limit');
      this.json = null;
      return i;
    }
    if (j.depth === 0) {
      this.configs++;
      this.findings.collector.format('keras-config');
      judgeKerasConfigText(Buffer.concat(j.parts).toString('utf8'), this.findings, { offset: j.at });
      this.json = null;
    }
    return i;
  }
}
