import type { Command } from 'commander';
import type { CliContext, CommandRegistrar } from './program.js';

/**
 * `coffer migrate --to-config FILE [--data-dir DIR | --config FILE]`: moves an embedded
 * install (SQLite + local disk) to PostgreSQL + an S3 bucket and verifies the result
 * (docs/deploy.md, "Moving an embedded install"). An operator tool: it refuses while a
 * server runs on the data dir, when the source's audit chain does not verify, and when
 * the target holds anything else; run it again to resume an interrupted run. Exit 0 only
 * when the target is verified equal to the source.
 */
export const migrateCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const { io } = ctx;
  program
    .command('migrate')
    .description('move an embedded install (SQLite + local disk) to PostgreSQL + S3, verified (counts, digests, audit chain); resumable')
    .requiredOption('--to-config <file>', 'JSON config of the target: databaseUrl, blobStore "s3" and blobS3*, keyProvider')
    .option('--config <file>', 'JSON config of the source install (as given to `coffer server`)')
    .option('--data-dir <dir>', 'data directory of the source install')
    .option('--json', 'JSON report on stdout')
    .action(async (opts: { toConfig: string; config?: string; dataDir?: string; json?: boolean }) => {
      // loaded only for this command: the stores and SDKs cost start-up time to every other one
      const { loadConfig } = await import('../config/index.js');
      const { migrateInstall } = await import('../runtime/migrate/migrate-install.js');
      const source = loadConfig({ file: opts.config ?? io.env.COFFER_CONFIG, env: io.env, flags: { dataDir: opts.dataDir } });
      // the target's settings come from its file only: the environment describes the source
      const target = loadConfig({ file: opts.toConfig });
      const report = await migrateInstall(source, target, { log: (line) => io.err(`migrate: ${line}\n`) });
      ctx.print(opts.json, report, () =>
        `${report.outcome === 'already-done' ? 'already migrated; verified again' : report.outcome === 'resumed' ? 'migration resumed and verified' : 'migrated and verified'}: ` +
        `${report.tables.length} tables (${report.tables.reduce((n, t) => n + t.rows, 0)} rows), ${report.blobs.count} blobs (${report.blobs.bytes} bytes), audit chain of ${report.audit.records} records\n`,
      );
    });
};
