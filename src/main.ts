import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { openRuntime } from './runtime/open-runtime.js';
import type { Runtime } from './runtime/open-runtime.js';
import { buildApp } from './server/app.js';
import { listenS3, type S3Listener } from './server/s3-app.js';
import { listenMetrics, type MetricsListener } from './server/metrics-endpoint.js';
import { ServerMetrics } from './server/metrics.js';
import { lockDataDir } from './runtime/data-dir-lock.js';

/** A listening Coffer server. */
export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** Base URL, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** Base URL of the S3-compatible endpoint (`s3Listen`), or null when it is disabled. */
  s3Url: string | null;
  /** Base URL of the separate metrics listener (`metricsListen`), or null. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/**
 * Starts Coffer: opens the runtime (composition root), builds the HTTP app and
 * listens. Prints the one-time setup token on stderr while no admin exists.
 */
export async function startServer(config: Config, options: { printSetupToken?: (token: string, url: string) => void; logStream?: NodeJS.WritableStream } = {}): Promise<RunningServer> {
  // INVARIANT: an embedded install (SQLite in dataDir) is served by one process at a time, and
  // never while `coffer migrate` copies it; the lock dies with the process (see lockDataDir)
  const lock = config.databaseUrl === null ? lockDataDir(config.dataDir) : null;
  let runtime: Runtime;
  try {
    runtime = await openRuntime(config);
  } catch (err) {
    lock?.release();
    throw err;
  }
  let app: FastifyInstance;
  // one set of counters, whichever listener serves them
  const metrics = new ServerMetrics();
  try {
    app = await buildApp({
      metrics,
      metricsToken: config.metrics.token,
      trustProxy: config.trustProxy,
      service: runtime.service,
      ready: () => runtime.readiness.check(),
      logLevel: config.logLevel,
      maxJsonBytes: config.maxJsonBytes,
      tls: config.tls,
      extensions: runtime.routes,
      publicRoutes: runtime.publicRoutes,
      metricRegistries: runtime.metricRegistries,
      ...(options.logStream ? { logStream: options.logStream } : {}),
    });
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await runtime.close();
    lock?.release();
    throw err;
  }
  let s3: S3Listener | null;
  try {
    s3 = await listenS3(runtime.s3, config, { metrics, ...(options.logStream ? { logStream: options.logStream } : {}) });
  } catch (err) {
    await app.close();
    await runtime.close();
    lock?.release();
    throw err;
  }
  let metricsListener: MetricsListener | null = null;
  if (config.metrics.listen !== null) {
    try {
      metricsListener = await listenMetrics(runtime.service, { token: config.metrics.token, registries: [metrics.registry, ...runtime.metricRegistries] }, config.metrics.listen, config.listen.port, config.trustProxy);
    } catch (err) {
      await s3?.app.close();
      await app.close();
      await runtime.close();
      lock?.release();
      throw err;
    }
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  // WebAuthn and SSO need the external URL; without `publicUrl` configured, the listener's is used
  runtime.identity.learnPublicUrl(url);
  if (runtime.setupToken !== null) {
    const print = options.printSetupToken ?? defaultPrint;
    print(runtime.setupToken, url);
  }
  return {
    app,
    runtime,
    url,
    s3Url: s3?.url ?? null,
    metricsUrl: metricsListener?.url ?? null,
    close: async () => {
      try {
        await metricsListener?.app.close();
        await s3?.app.close();
        await app.close();
        await runtime.close();
      } finally {
        lock?.release();
      }
    },
  };
}

function defaultPrint(token: string, url: string): void {
  process.stderr.write(
    [
      '',
      'Coffer has no administrator yet. Create the first one with this one-time setup token:',
      '',
      `  coffer bootstrap --server ${url} --name <your-user-name> --setup-token ${token}`,
      '',
      'The token works once and is replaced at every start until an administrator exists.',
      '',
    ].join('\n'),
  );
}
