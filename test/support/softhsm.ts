import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's SoftHSM2 module (package softhsm2; `.ci/run` installs it). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** The `skip` option of a describe() that needs SoftHSM2: a reason on a user's clone, never in CI. */
export function softHsmSkip(): string | false {
  if (inCi || (existsSync(SOFTHSM_MODULE) && hasUtil())) return false;
  return 'skipped: SoftHSM2 is not installed (apt-get install softhsm2)';
}

function hasUtil(): boolean {
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A SoftHSM2 token of its own, in a temp directory. */
export interface SoftHsmToken {
  module: string;
  tokenLabel: string;
  pin: string;
  /** The SOFTHSM2_CONF file (the token's directory is beside it). */
  conf: string;
  dir: string;
  remove(): Promise<void>;
}

/**
 * Initializes a fresh token under a temp directory and points SOFTHSM2_CONF at it (read by
 * the module when it is initialized, so call this before any provider opens). In CI a
 * missing SoftHSM2 fails here rather than skipping.
 */
export async function createSoftHsmToken(label = 'coffer-test'): Promise<SoftHsmToken> {
  // INVARIANT: in CI the PKCS#11 tests never silently vanish
  assert.ok(existsSync(SOFTHSM_MODULE), `SoftHSM2 is not installed (${SOFTHSM_MODULE}): .ci/run installs softhsm2`);
  const dir = await mkdtemp(join(tmpdir(), 'coffer-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${dir}/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  execFileSync('mkdir', ['-p', join(dir, 'tokens')]);
  const pin = '4711-coffer';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '0815-so'], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore' });
  process.env.SOFTHSM2_CONF = conf;
  return { module: SOFTHSM_MODULE, tokenLabel: label, pin, conf, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
