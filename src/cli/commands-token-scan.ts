import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { IdentityClient } from '../client/identity-client.js';
import { parseToken } from '../identity/token-format.js';
import { isGitRepository, scanFiles, scanGitHistory, scanStaged } from '../environments/secrets/scan-leaks.js';
import type { Leak, ScanStats } from '../environments/secrets/scan-leaks.js';
import { loadCredentials } from './credentials.js';
import type { CliContext, CommandRegistrar } from './program.js';

/** Token kinds `POST /v1/auth/revoke` revokes when presented (holding one is the right to revoke it). */
const REVOCABLE = new Set(['pat', 'refresh']);

/** What `coffer token scan` prints for one leak: never the secret. */
interface LeakRow {
  kind: string;
  redacted: string;
  source: Leak['source'];
  commit: string | null;
  path: string;
  line: number;
  /** `path:line`, or `commit:path:line` for history. */
  where: string;
  /** With --revoke, for Coffer tokens: `revoked`, or why not. */
  revoke?: string;
}

/**
 * `coffer token scan [PATH]`: finds leaked credentials (checksum-verified Coffer tokens
 * and common cloud key formats) in files, in the whole git history, or in the staged
 * changes (`--staged`, for a pre-commit hook). Prints where, never the secret. Exit 3
 * when something is found that is still live (anything but a Coffer token this run
 * revoked), 0 when clean.
 */
export const tokenScanCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const { io } = ctx;
  const token = program.commands.find((c) => c.name() === 'token') ?? program.command('token');
  token
    .command('scan [path]')
    .description('find leaked credentials (Coffer tokens, AWS/GCP/Azure keys, private keys, GitHub tokens) in files and in every commit of a git repository; --revoke revokes the Coffer tokens found')
    .option('--staged', 'scan only the changes staged for commit (pre-commit hook)')
    .option('--no-history', 'do not walk the git history')
    .option('--no-files', 'do not read the working tree files')
    .option('--max-blob-mb <n>', 'skip files and blobs larger than this many MiB', (v) => Number(v), 10)
    .option('--revoke', 'revoke every Coffer token found (holding a leaked token is enough to revoke it)')
    .option('--json', 'JSON output')
    .action(async (path: string | undefined, opts: { staged?: boolean; history: boolean; files: boolean; maxBlobMb: number; revoke?: boolean; json?: boolean }) => {
      const root = path ?? '.';
      if (!Number.isFinite(opts.maxBlobMb) || opts.maxBlobMb <= 0) throw new Error('--max-blob-mb must be a positive number');
      const options = { maxBlobBytes: Math.floor(opts.maxBlobMb * 1024 * 1024) };
      const stats: ScanStats = { files: 0, blobs: 0, skippedLarge: 0, skippedBinary: 0 };
      const leaks: Leak[] = [];
      const isDir = statSync(root).isDirectory();
      const repo = isDir && (await isGitRepository(root));
      if (opts.staged) {
        if (!repo) throw new Error(`\`${root}\` is not a git work tree: --staged needs one`);
        leaks.push(...(await scanStaged(root)));
      } else {
        if (opts.files || !isDir) leaks.push(...(await scanFiles(root, options, stats)));
        if (repo && opts.history) leaks.push(...(await scanGitHistory(root, options, stats)));
      }

      const outcome = new Map<string, string>();
      if (opts.revoke) {
        const server = loadCredentials(io.env, program.opts<{ server?: string }>().server).server;
        for (const l of leaks) {
          if (l.kind !== 'coffer-token' || outcome.has(l.secret)) continue;
          const kind = parseToken(l.secret);
          if (kind === null || !REVOCABLE.has(kind)) {
            outcome.set(l.secret, `not revocable by holder (${kind ?? 'unknown'} token): revoke it with the command that manages it`);
            continue;
          }
          // a 204 means the server holds no live token equal to this one any more
          const result = await new IdentityClient({ baseUrl: server, userAgent: 'coffer-cli token-scan' }).revokeToken(l.secret).then(
            () => 'revoked',
            (err: Error) => `failed: ${err.message}`,
          );
          outcome.set(l.secret, result);
        }
      }
      const rows: LeakRow[] = leaks.map((l) => ({
        kind: l.kind,
        redacted: l.redacted,
        source: l.source,
        commit: l.commit,
        path: l.path,
        line: l.line,
        where: l.commit === null ? `${l.path}:${l.line}` : `${l.commit.slice(0, 12)}:${l.path}:${l.line}`,
        ...(opts.revoke && l.kind === 'coffer-token' ? { revoke: outcome.get(l.secret)! } : {}),
      }));
      ctx.print(opts.json, rows, () => {
        if (rows.length === 0) return `no leaked credentials found (${describeStats(stats, opts.staged)})\n`;
        const cols: (keyof LeakRow)[] = opts.revoke ? ['kind', 'redacted', 'source', 'where', 'revoke'] : ['kind', 'redacted', 'source', 'where'];
        const advice = opts.staged ? 'take them out of the change (and rotate them if they were ever shared)' : 'rotate every credential listed: it stays in the history of every clone';
        return ctx.table(rows, cols) + `${rows.length} finding${rows.length === 1 ? '' : 's'} (${describeStats(stats, opts.staged)}); ${advice}\n`;
      });
      const live = rows.filter((r) => r.revoke !== 'revoked');
      if (live.length > 0) process.exitCode = 3;
    });
};

function describeStats(s: ScanStats, staged: boolean | undefined): string {
  if (staged) return 'staged changes';
  const skipped = s.skippedLarge + s.skippedBinary;
  return `${s.files} files, ${s.blobs} blobs${skipped > 0 ? `, ${s.skippedLarge} too large and ${s.skippedBinary} binary skipped` : ''}`;
}
