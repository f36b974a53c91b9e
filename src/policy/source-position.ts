/** A 1-based line and column (in characters) within a policy source. */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Converts a UTF-8 byte offset, as Cedar reports it, into a line and column of `text`.
 * Offsets past the end clamp to the end.
 */
export function positionOfByteOffset(text: string, byteOffset: number): SourcePosition {
  const bytes = Buffer.from(text, 'utf8');
  const prefix = bytes.subarray(0, Math.max(0, Math.min(byteOffset, bytes.length))).toString('utf8');
  return positionOfCharOffset(prefix, prefix.length);
}

/** Line and column of a character offset of `text`. */
export function positionOfCharOffset(text: string, charOffset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(charOffset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Byte length of the UTF-8 encoding of `text`. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
