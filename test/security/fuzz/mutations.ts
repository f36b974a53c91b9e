/**
 * Byte- and character-level mutations for the fuzzers: a valid input (a signed request,
 * an encrypted header, an XML document, a token) is edited a few times at random places,
 * with edits biased towards the characters its grammar cares about. Mutating valid inputs
 * reaches far deeper into a parser than random bytes, which most parsers refuse at once.
 */
import fc from 'fast-check';

/** One edit: replace, insert or delete at a position (taken modulo the length), or duplicate a slice. */
type Edit = { kind: 'replace' | 'insert'; at: number; text: string } | { kind: 'delete'; at: number; length: number } | { kind: 'repeat'; at: number; length: number; times: number };

const editArb = (alphabet: string): fc.Arbitrary<Edit> => {
  const piece = fc.oneof(
    fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength: 4 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
    fc.constantFrom('\u0000', '\uFFFF', '\uD800', '%', '%zz', '\r\n', ' ', '0', '-1', '99999999999999999999'),
  );
  return fc.oneof(
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: piece }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: piece }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }), times: fc.integer({ min: 2, max: 50 }) }),
  );
};

function apply(text: string, edit: Edit): string {
  const at = text.length === 0 ? 0 : edit.at % (text.length + 1);
  switch (edit.kind) {
    case 'replace':
      return text.slice(0, at) + edit.text + text.slice(at + edit.text.length);
    case 'insert':
      return text.slice(0, at) + edit.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + edit.length);
    case 'repeat':
      return text.slice(0, at) + text.slice(at, at + edit.length).repeat(edit.times) + text.slice(at + edit.length);
  }
}

/** `text` after 1 to `max` edits drawn with a bias towards `alphabet` (the grammar's own characters). */
export function mutatedString(text: string, alphabet: string, max = 4): fc.Arbitrary<string> {
  return fc.array(editArb(alphabet), { minLength: 1, maxLength: max }).map((edits) => edits.reduce(apply, text));
}

/** `bytes` after 1 to `max` byte edits: flips, overwrites, insertions, deletions, truncation. */
export function mutatedBytes(bytes: Buffer, max = 4): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x3b, 0x3d) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  return fc.array(edit, { minLength: 1, maxLength: max }).map((edits) => {
    let b = Buffer.from(bytes);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % (b.length + (e.kind === 'insert' || e.kind === 'truncate' ? 1 : 0));
      if (e.kind === 'flip' && b.length > 0) b[at % b.length]! ^= 1 << e.bit;
      else if (e.kind === 'set' && b.length > 0) b[at % b.length] = e.value;
      else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.value), b.subarray(at)]);
      else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]);
      else if (e.kind === 'truncate') b = b.subarray(0, at);
    }
    return b;
  });
}

/** Any text up to `maxLength`: raw bytes as latin1 or UTF-8 (lone bytes become U+FFFD), or Unicode graphemes. */
export function anyText(maxLength: number): fc.Arbitrary<string> {
  const bytes = fc.uint8Array({ maxLength });
  return fc.oneof(bytes.map((b) => Buffer.from(b).toString('latin1')), bytes.map((b) => Buffer.from(b).toString('utf8')), fc.string({ unit: 'grapheme', maxLength }));
}
