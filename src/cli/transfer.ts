import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename, dirname, join } from 'node:path';
import cliProgress from 'cli-progress';
import type { CofferClient, VersionInfo } from '../client/index.js';

/** Counts bytes through a stream and drives a progress bar on stderr (TTY only). */
function progress(total: number, label: string, enabled: boolean): { meter: Transform; stop: () => void } {
  const bar = enabled
    ? new cliProgress.SingleBar(
        { format: `${label} [{bar}] {percentage}% | {value_h}/{total_h} | {speed}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const started = Date.now();
  let done = 0;
  bar?.start(total, 0, { value_h: human(0), total_h: human(total), speed: '' });
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      const secs = (Date.now() - started) / 1000;
      bar?.update(done, { value_h: human(done), speed: secs > 0 ? `${human(done / secs)}/s` : '' });
      cb(null, chunk);
    },
  });
  return { meter, stop: () => bar?.stop() };
}

function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Uploads a file as a new version. The digest is computed first and sent, so the
 * server refuses the version if a single byte differs on the way.
 */
export async function pushFile(client: CofferClient, project: string, artifact: string, file: string, options: { mediaType?: string; progress: boolean }): Promise<VersionInfo> {
  const { size } = await stat(file);
  const sha256 = await sha256File(file);
  const { meter, stop } = progress(size, `push ${basename(file)}`, options.progress);
  try {
    const body: Readable = createReadStream(file).pipe(meter);
    return await client.push(project, artifact, body, { size, sha256, ...(options.mediaType ? { mediaType: options.mediaType } : {}) });
  } finally {
    stop();
  }
}

/**
 * Downloads a version to `out`: written to a temp file beside it, the SHA-256 checked
 * against the server's digest, and only then renamed into place. A failed or tampered
 * download leaves nothing at `out`.
 */
export async function pullFile(client: CofferClient, project: string, artifact: string, version: string, out: string, options: { progress: boolean }): Promise<{ number: number; sha256: string; size: number }> {
  const download = await client.pull(project, artifact, version);
  const tmp = join(dirname(out), `.${basename(out)}.coffer-${process.pid}-${Date.now()}.part`);
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const { meter, stop } = progress(download.length, `pull ${project}/${artifact}@${download.version.number}`, options.progress);
  try {
    await pipeline(download.body, meter, hasher, createWriteStream(tmp, { mode: 0o600 }));
    const digest = hash.digest('hex');
    const { size } = await stat(tmp);
    if (size !== download.version.size || digest !== download.version.sha256) {
      throw new Error(`download of \`${project}/${artifact}@${download.version.number}\` is incomplete or corrupt: digest mismatch`);
    }
    await rename(tmp, out);
    return { number: download.version.number, sha256: digest, size };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    stop();
  }
}
