#!/usr/bin/env node
/** The `coffer` command: a client of the REST API, plus `coffer server`. */
import { runCli } from './program.js';
import { FEATURE_COMMANDS } from './commands.js';

async function serve(opts: Record<string, unknown>): Promise<void> {
  // the server and its native dependencies load only for `coffer server`
  const { loadConfig } = await import('../config/index.js');
  const { startServer } = await import('../main.js');
  const config = loadConfig({
    file: (opts.config as string | undefined) ?? process.env.COFFER_CONFIG,
    env: process.env,
    flags: {
      dataDir: opts.dataDir,
      listen: opts.listen,
      databaseUrl: opts.databaseUrl,
      tlsCertFile: opts.tlsCert,
      tlsKeyFile: opts.tlsKey,
      logLevel: opts.logLevel,
    },
  });
  const server = await startServer(config);
  if (server.s3Url !== null) process.stderr.write(`coffer S3 endpoint on ${server.s3Url}\n`);
  process.stderr.write(`coffer listening on ${server.url} (data in ${config.dataDir})\n`);
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`${signal}: shutting down\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  await new Promise<never>(() => undefined);
}

const code = await runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  isTTY: Boolean(process.stderr.isTTY),
}, serve, FEATURE_COMMANDS);
if (code !== 0 || process.argv[2] !== 'server') process.exitCode = code;
