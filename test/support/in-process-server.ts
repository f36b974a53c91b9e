import type { FastifyInstance } from 'fastify';
import { CofferClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { startServer } from '../../src/main.js';
import { openRuntime } from '../../src/runtime/open-runtime.js';
import type { Runtime } from '../../src/runtime/open-runtime.js';
import { buildApp } from '../../src/server/app.js';

/** A Coffer server in this process, listening on 127.0.0.1 (real sockets, real files). */
export interface InProcessServer {
  url: string;
  config: Config;
  runtime: Runtime;
  app: FastifyInstance;
  /** The separate metrics listener's URL (`metricsListen`), or null. */
  metricsUrl: string | null;
  /** The setup token printed at start, or null if an admin exists. */
  setupToken: string | null;
  /** Flushes pending audit records, stops listening and closes the stores. Idempotent. */
  close(): Promise<void>;
}

/** Config keys a test may set besides the data directory. */
export type ConfigFlags = Partial<
  Record<
    | 'databaseUrl'
    | 'maxJsonBytes'
    | 'maxUploadBytes'
    | 'segmentSize'
    | 'auditCheckpointEvery'
    | 'tokenTtlSeconds'
    | 'blobStore'
    | `blobS3${string}`
    | 'keyProvider'
    | 'rootKey'
    | 'rootKeyPrevious'
    | `pkcs11${string}`
    | `kms${string}`
    | 'auditCheckpointSeconds'
    | 'auditWitnessFile'
    | 'auditWitnessWebhookUrl'
    | 'auditWitnessWebhookSecret'
    | 'unauthenticatedRefusalsPerMinute'
    | 'metricsToken'
    | 'metricsListen',
    unknown
  >
>;

/**
 * Starts Coffer on `dataDir` listening on 127.0.0.1:0. Without `clock` this is the
 * real composition root (`startServer` of src/main.ts); with `clock` (to move time for
 * token expiry) it wires `openRuntime` + `buildApp` the same way main.ts does.
 */
export async function startInProcess(dataDir: string, options: { flags?: ConfigFlags; clock?: () => number } = {}): Promise<InProcessServer> {
  const config = loadConfig({ flags: { ...options.flags, dataDir, listen: '127.0.0.1:0', logLevel: 'silent' } });
  let setupToken: string | null = null;
  let url: string;
  let runtime: Runtime;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let metricsUrl: string | null = null;
  if (options.clock === undefined) {
    const server = await startServer(config, { printSetupToken: (token) => (setupToken = token) });
    ({ url, runtime, app, metricsUrl } = server);
    stop = () => server.close();
  } else {
    runtime = await openRuntime(config, { clock: options.clock, warn: () => undefined });
    setupToken = runtime.setupToken;
    try {
      app = await buildApp({ service: runtime.service, ready: () => runtime.readiness.check(), logLevel: 'silent', maxJsonBytes: config.maxJsonBytes });
      await app.listen({ host: '127.0.0.1', port: 0 });
    } catch (err) {
      await runtime.close();
      throw err;
    }
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const r = runtime;
    const a = app;
    stop = async () => {
      await a.close();
      await r.close();
    };
  }
  let closed: Promise<void> | null = null;
  return {
    url,
    config,
    runtime,
    app,
    metricsUrl,
    setupToken,
    close: () =>
      (closed ??= (async () => {
        // completion records of downloads are written after the response: let them land
        await runtime.audit.flush().catch(() => undefined);
        const stopping = stop();
        // a connection a test left half-way must not hold the close until the server's timeouts
        app.server.closeAllConnections();
        await stopping;
      })()),
  };
}

/** Creates the first admin with the setup token; returns a client logged in as them. */
export async function bootstrapAdmin(url: string, setupToken: string | null, name = 'alice'): Promise<{ client: CofferClient; token: string }> {
  if (setupToken === null) throw new Error('the server printed no setup token');
  const { token } = await new CofferClient({ baseUrl: url }).bootstrap({ setupToken, name });
  return { client: new CofferClient({ baseUrl: url, token }), token };
}
