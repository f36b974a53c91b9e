/**
 * Bench child: a real Coffer server (`startServer` with the embedded default: SQLite,
 * local disk, generated root key) on 127.0.0.1 with an ephemeral port and silent logs.
 * Reports its URL and one-time setup token; the harness bootstraps over HTTP. With
 * `profile`, the commands `profile-start` and `profile-stop` (argument: the file to
 * write) take a V8 CPU profile of one phase through the inspector.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../../src/config/index.js';
import { startServer } from '../../src/main.js';
import { childInput, reportError, reportReady } from '../child.js';

/** Input of the Coffer server child. */
export interface CofferServerInput {
  dataDir: string;
  /** Accept the profile-start and profile-stop commands. */
  profile: boolean;
  /** More config keys (the scale case: PostgreSQL, S3, the root key). */
  flags?: Record<string, unknown>;
  /** Run the monitor's detectors (default off). */
  monitor?: boolean;
}

/** What the Coffer server reports once listening. */
export interface CofferServerReady {
  url: string;
  setupToken: string | null;
}

async function profiler(): Promise<Record<string, (arg: unknown) => Promise<unknown>>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  return {
    'profile-start': async () => {
      await session.post('Profiler.start');
      return null;
    },
    'profile-stop': async (file: unknown) => {
      if (typeof file !== 'string') throw new Error('profile-stop needs a file path');
      const { profile } = await session.post('Profiler.stop');
      await writeFile(file, JSON.stringify(profile));
      return file;
    },
  };
}

try {
  const input = childInput<CofferServerInput>();
  // flags only (no environment), so the bench's own COFFER_BENCH_* variables never reach the config
  // the monitor would (rightly) lock a user pulling tens of GiB an hour: off unless a case measures it
  const config = loadConfig({ flags: { ...input.flags, dataDir: input.dataDir, listen: '127.0.0.1:0', logLevel: 'silent', monitorEnabled: input.monitor === true ? 1 : 0 } });
  const server = await startServer(config, { printSetupToken: () => undefined });
  await reportReady({ url: server.url, setupToken: server.runtime.setupToken } satisfies CofferServerReady, {
    stop: () => server.close(),
    ...(input.profile ? { commands: await profiler() } : {}),
  });
} catch (err) {
  await reportError(err);
}
