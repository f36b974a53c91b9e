import type { Transform } from 'node:stream';

/**
 * Writes `input` into `stream` cut at `cuts` (positions taken modulo the length, any order)
 * and collects what comes out, and the error the stream ended with (undefined if none).
 * Stops writing once the stream is destroyed. For tests of streaming parsers and ciphers,
 * whose answer must not depend on how the bytes were split.
 */
export async function runThrough(stream: Transform, input: Buffer, cuts: readonly number[] = []): Promise<{ out: Buffer; error: unknown }> {
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<unknown>((resolve) => {
    stream.on('end', () => resolve(undefined));
    stream.on('error', resolve);
  });
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (input.length + 1)).sort((a, b) => a - b), input.length]) {
    if (cut > at && !stream.destroyed) stream.write(input.subarray(at, cut));
    at = Math.max(at, cut);
  }
  if (!stream.destroyed) stream.end();
  const error = await done;
  return { out: Buffer.concat(out), error };
}
