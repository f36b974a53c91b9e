/**
 * CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5, init and final xor all ones),
 * table-driven, slice-by-8, on 32-bit halves (no BigInt in the loop).
 * Known answer: `123456789` -> 0xAE8B14860A799888.
 */
const POLY = 0x9a6c9329ac4bc9b5n;

interface Table {
  hi: Uint32Array;
  lo: Uint32Array;
}

const TABLES: Table[] = (() => {
  const t0: Table = { hi: new Uint32Array(256), lo: new Uint32Array(256) };
  for (let n = 0; n < 256; n++) {
    let c = BigInt(n);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
    t0.hi[n] = Number(c >> 32n);
    t0.lo[n] = Number(c & 0xffffffffn);
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const t: Table = { hi: new Uint32Array(256), lo: new Uint32Array(256) };
    for (let n = 0; n < 256; n++) {
      const idx = prev.lo[n]! & 0xff;
      // (prev >> 8) ^ t0[prev & 0xff]
      t.lo[n] = (((prev.lo[n]! >>> 8) | (prev.hi[n]! << 24)) ^ t0.lo[idx]!) >>> 0;
      t.hi[n] = ((prev.hi[n]! >>> 8) ^ t0.hi[idx]!) >>> 0;
    }
    tables.push(t);
  }
  return tables;
})();

/** Incremental CRC-64/NVME: feed bytes with {@link update}, read the value with {@link digest}. */
export class Crc64Nvme {
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  update(data: Uint8Array): this {
    const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Table, Table, Table, Table, Table, Table, Table, Table];
    let hi = this.hi;
    let lo = this.lo;
    let i = 0;
    const end8 = data.length - (data.length % 8);
    for (; i < end8; i += 8) {
      const a = (lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
      const b = (hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24))) >>> 0;
      const i0 = a & 0xff;
      const i1 = (a >>> 8) & 0xff;
      const i2 = (a >>> 16) & 0xff;
      const i3 = a >>> 24;
      const i4 = b & 0xff;
      const i5 = (b >>> 8) & 0xff;
      const i6 = (b >>> 16) & 0xff;
      const i7 = b >>> 24;
      lo = t7.lo[i0]! ^ t6.lo[i1]! ^ t5.lo[i2]! ^ t4.lo[i3]! ^ t3.lo[i4]! ^ t2.lo[i5]! ^ t1.lo[i6]! ^ t0.lo[i7]!;
      hi = t7.hi[i0]! ^ t6.hi[i1]! ^ t5.hi[i2]! ^ t4.hi[i3]! ^ t3.hi[i4]! ^ t2.hi[i5]! ^ t1.hi[i6]! ^ t0.hi[i7]!;
    }
    for (; i < data.length; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ t0.lo[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ t0.hi[idx]!) >>> 0;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** The CRC as 8 big-endian bytes (the S3 wire form before base64). */
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}
