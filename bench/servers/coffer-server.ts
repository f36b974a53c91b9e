/**
 * Bench child: a real Coffer server (`startServer` with the embedded default: SQLite,
 * local disk, generated root key) on 127.0.0.1 with an ephemeral port and silent logs.
 * Reports its URL and one-time setup token; the harness bootstraps over HTTP.
 */
import { loadConfig } from '../../src/config/index.js';
import { startServer } from '../../src/main.js';
import { childInput, reportError, reportReady } from '../child.js';

/** Input of the Coffer server child. */
export interface CofferServerInput {
  dataDir: string;
}

/** What the Coffer server reports once listening. */
export interface CofferServerReady {
  url: string;
  setupToken: string | null;
}

try {
  const input = childInput<CofferServerInput>();
  // flags only (no environment), so the bench's own COFFER_BENCH_* variables never reach the config
  const config = loadConfig({ flags: { dataDir: input.dataDir, listen: '127.0.0.1:0', logLevel: 'silent' } });
  const server = await startServer(config, { printSetupToken: () => undefined });
  await reportReady({ url: server.url, setupToken: server.runtime.setupToken } satisfies CofferServerReady, () => server.close());
} catch (err) {
  await reportError(err);
}
