import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { CofferApiError, CofferClient } from '../client/index.js';
import { isCofferError } from '../domain/errors.js';
import type { CheckpointInfo, ProjectInfo, VerifyInfo } from '../client/index.js';
import { clearCredentials, loadCredentials, saveCredentials } from './credentials.js';
import { parseArtifactRef, parseExpiry, parseScope } from './artifact-ref.js';
import { pullFile, pushFile } from './transfer.js';

/** Streams the CLI writes to; tests pass their own. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

const VERSION = '0.1.0';

/** What a feature's commands need from the CLI. */
export interface CliContext {
  io: CliIo;
  /** A client for the configured server with the cached or environment credentials. */
  client: () => CofferClient;
  /** Prints `value` as JSON with --json, else the human form. */
  print: (json: boolean | undefined, value: unknown, human: () => string) => void;
  /** Renders rows as an aligned table. */
  table: typeof table;
}

/** Registers a feature's commands on the program (see src/cli/commands.ts). */
export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

export function table<T extends object>(rows: T[], columns: (keyof T & string)[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Builds the `coffer` command. `serve` starts a server (kept out so the client stays light). */
export function buildProgram(io: CliIo, serve: (opts: Record<string, unknown>) => Promise<void>, registrars: CommandRegistrar[] = []): Command {
  const program = new Command('coffer')
    .description('Coffer: zero-trust vault for ML artifacts')
    .version(VERSION)
    .option('--server <url>', 'server URL (default: $COFFER_URL or the login cache)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();

  const client = (): CofferClient => {
    const creds = loadCredentials(io.env, program.opts<{ server?: string }>().server);
    return new CofferClient({ baseUrl: creds.server, token: creds.token, userAgent: `coffer-cli/${VERSION}` });
  };
  const print = (json: boolean | undefined, value: unknown, human: () => string) => io.out(json ? JSON.stringify(value, null, 2) + '\n' : human());
  const progressOn = (opts: { progress?: boolean }) => opts.progress !== false && io.isTTY;

  program
    .command('server')
    .description('run a Coffer server (embedded default: SQLite + local disk + generated root key)')
    .option('--data-dir <dir>', 'data directory')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:7070)')
    .option('--config <file>', 'JSON config file')
    .option('--database-url <url>', 'PostgreSQL URL instead of the embedded SQLite')
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(async (opts: Record<string, unknown>) => serve(opts));

  program
    .command('bootstrap')
    .description('create the first administrator with the one-time setup token, and log in as them')
    .requiredOption('--name <user>', 'user name of the administrator')
    .requiredOption('--setup-token <token>', 'the setup token the server printed')
    .option('--password-stdin', 'also set the administrator\'s first password, read from stdin')
    .action(async (opts: { name: string; setupToken: string; passwordStdin?: boolean }) => {
      const creds = loadCredentials(io.env, program.opts<{ server?: string }>().server);
      const password = opts.passwordStdin ? readFileSync(0, 'utf8').split('\n')[0]!.trim() : undefined;
      const result = await new CofferClient({ baseUrl: creds.server }).bootstrap({ setupToken: opts.setupToken, name: opts.name, ...(password ? { password } : {}) });
      const path = saveCredentials(io.env, { server: creds.server, token: result.token });
      io.out(`administrator \`${result.principal.name}\` created; logged in (credentials in ${path})\n`);
    });

  program
    .command('login')
    .description('log in with an API token (verified, then cached 0600)')
    .option('--token <token>', 'API token (default: $COFFER_TOKEN, or read from stdin)')
    .action(async (opts: { token?: string }) => {
      const creds = loadCredentials(io.env, program.opts<{ server?: string }>().server);
      const token = opts.token ?? io.env.COFFER_TOKEN ?? readFileSync(0, 'utf8').trim();
      const me = await new CofferClient({ baseUrl: creds.server, token }).whoami();
      const path = saveCredentials(io.env, { server: creds.server, token });
      io.out(`logged in to ${creds.server} as \`${me.name}\` (credentials in ${path})\n`);
    });
  program.command('logout').description('forget the cached credentials').action(() => {
    clearCredentials(io.env);
    io.out('logged out\n');
  });
  program
    .command('whoami')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const me = await client().whoami();
      print(opts.json, me, () => `${me.name} (${me.kind}, ${me.id})\ngroups: ${me.groups.join(', ') || '-'}\ngrants: ${me.grants.length}\n`);
    });

  // ---- principals ----
  for (const [cmd, kind] of [['user', 'user'], ['service-account', 'service-account'], ['group', 'group']] as const) {
    const c = program.command(cmd).description(`manage ${kind}s`);
    c.command('create <name>')
      .option('--display-name <text>')
      .option('--owner <user>', 'owner (service accounts)')
      .option('--json', 'JSON output')
      .action(async (name: string, opts: { displayName?: string; owner?: string; json?: boolean }) => {
        const p = await client().createPrincipal({ kind, name, ...(opts.displayName ? { displayName: opts.displayName } : {}), ...(opts.owner ? { owner: opts.owner } : {}) });
        print(opts.json, p, () => `${kind} \`${p.name}\` created (${p.id})\n`);
      });
    if (kind === 'group') {
      c.command('add <group> <member>').action(async (group: string, member: string) => {
        await client().addMember(group, member);
        io.out(`\`${member}\` added to \`${group}\`\n`);
      });
    } else {
      for (const verb of ['disable', 'enable'] as const) {
        c.command(`${verb} <name>`).action(async (name: string) => {
          await client().setDisabled(name, verb === 'disable');
          io.out(`\`${name}\` ${verb}d\n`);
        });
      }
    }
  }
  program
    .command('principals')
    .description('list principals')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const page = await client().listPrincipals({ limit: 1000 });
      print(opts.json, page.items, () => table(page.items, ['name', 'kind', 'disabled', 'id']));
    });

  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .option('--for <principal>', 'another principal (admins)')
    .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number(v))
    .option('--description <text>')
    .option('--json', 'JSON output')
    .action(async (opts: { for?: string; ttl?: number; description?: string; json?: boolean }) => {
      const t = await client().createToken({ ...(opts.for ? { principal: opts.for } : {}), ...(opts.ttl ? { ttlSeconds: opts.ttl } : {}), ...(opts.description ? { description: opts.description } : {}) });
      print(opts.json, t, () => `${t.token}\n`);
      if (!opts.json) io.err(`token ${t.info.id} expires ${t.info.expiresAt ?? 'never'}; it is shown only once\n`);
    });
  token.command('revoke <id>').description('revoke a credential (token, session, S3 key) and everything minted from it').action(async (id: string) => {
    await client().revokeToken(id);
    io.out(`token ${id} revoked (and what it minted)\n`);
  });
  token
    .command('list')
    .description('your credentials (sessions, API tokens, S3 keys), each with the credential that minted it')
    .option('--for <principal>', 'another principal (admins)')
    .option('--all', 'include revoked and expired ones')
    .option('--json', 'JSON output')
    .action(async (opts: { for?: string; all?: boolean; json?: boolean }) => {
      const { items } = await client().listCredentials(opts.for);
      const shown = opts.all ? items : items.filter((c) => c.active);
      const rows = shown.map((c) => ({
        id: `${c.id}${c.current ? ' *' : ''}`,
        kind: c.kind,
        parent: c.parent === null ? `(${c.origin})` : `${c.parent.kind ?? '?'} ${c.parent.id}${c.parent.principal !== null && c.parent.principal !== (opts.for ?? null) && c.origin === 'issue' ? ` (${c.parent.principal})` : ''}`,
        methods: c.mfa.methods.join(',') || '-',
        expires: c.expiresAt ?? 'never',
        state: c.active ? 'active' : c.revokedAt !== null ? `revoked: ${c.revokeReason ?? ''}` : 'expired',
      }));
      print(opts.json, shown, () => table(rows, ['id', 'kind', 'parent', 'methods', 'expires', 'state']));
    });

  // ---- catalog ----
  const project = program.command('project').description('projects');
  project
    .command('create <name>')
    .option('--description <text>')
    .option('--json', 'JSON output')
    .action(async (name: string, opts: { description?: string; json?: boolean }) => {
      const p = await client().createProject({ name, ...(opts.description ? { description: opts.description } : {}) });
      print(opts.json, p, () => `project \`${p.name}\` created\n`);
    });
  project
    .command('list')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const items: ProjectInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await client().listProjects({ limit: 1000, ...(cursor ? { cursor } : {}) });
        items.push(...page.items);
        cursor = page.next ?? undefined;
      } while (cursor);
      print(opts.json, items, () => table(items, ['name', 'description', 'createdAt']));
    });
  project
    .command('show <name>')
    .option('--json', 'JSON output')
    .action(async (name: string, opts: { json?: boolean }) => {
      const p = await client().showProject(name);
      print(opts.json, p, () => table([p], ['name', 'id', 'description', 'createdBy', 'createdAt']));
    });

  const artifact = program.command('artifact').description('artifacts');
  artifact
    .command('create <project/name>')
    .addOption(new Option('--kind <kind>').choices(['model', 'dataset', 'feature-set', 'evaluation', 'other']).default('model'))
    .addOption(new Option('--tier <tier>').choices(['public', 'internal', 'confidential', 'restricted']).makeOptionMandatory())
    .addOption(new Option('--env <environment>').choices(['dev', 'staging', 'prod']).default('dev'))
    .option('--label <key=value...>', 'labels')
    .option('--json', 'JSON output')
    .action(async (ref: string, opts: { kind: string; tier: string; env: string; label?: string[]; json?: boolean }) => {
      const r = parseArtifactRef(ref, { version: 'forbidden' });
      const labels = Object.fromEntries((opts.label ?? []).map((l) => [l.split('=')[0]!, l.split('=').slice(1).join('=')]));
      const a = await client().createArtifact(r.project, { name: r.artifact, kind: opts.kind, tier: opts.tier, environment: opts.env, labels });
      print(opts.json, a, () => `artifact \`${a.project}/${a.name}\` created (${a.kind}, ${a.tier}, ${a.environment})\n`);
    });
  artifact
    .command('list <project>')
    .option('--json', 'JSON output')
    .action(async (projectName: string, opts: { json?: boolean }) => {
      const page = await client().listArtifacts(projectName, { limit: 1000 });
      print(opts.json, page.items, () => table(page.items, ['name', 'kind', 'tier', 'environment', 'createdAt']));
    });
  artifact
    .command('show <project/name>')
    .option('--json', 'JSON output')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const r = parseArtifactRef(ref, { version: 'forbidden' });
      const a = await client().showArtifact(r.project, r.artifact);
      print(opts.json, a, () => table([a], ['name', 'kind', 'tier', 'environment', 'owner']) + '\n' + table(a.versions, ['number', 'size', 'sha256', 'createdBy', 'createdAt']));
    });

  program
    .command('push <project/name> <file>')
    .description('upload a file as a new version (digest verified by the server)')
    .option('--media-type <type>', 'media type', 'application/octet-stream')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'JSON output')
    .action(async (ref: string, file: string, opts: { mediaType: string; progress?: boolean; json?: boolean }) => {
      const r = parseArtifactRef(ref, { version: 'forbidden' });
      const v = await pushFile(client(), r.project, r.artifact, file, { mediaType: opts.mediaType, progress: progressOn(opts) });
      print(opts.json, v, () => `pushed ${r.project}/${r.artifact}@${v.number} (${v.size} bytes, sha256 ${v.sha256})\n`);
    });
  program
    .command('pull <project/name[@version]>')
    .description('download a version (digest verified before the file appears)')
    .option('-o, --output <file>', 'output file (default: the artifact base name)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'JSON output')
    .action(async (ref: string, opts: { output?: string; progress?: boolean; json?: boolean }) => {
      const r = parseArtifactRef(ref);
      const out = opts.output ?? basename(r.artifact);
      const v = await pullFile(client(), r.project, r.artifact, r.version ?? 'latest', out, { progress: progressOn(opts) });
      print(opts.json, { ...v, file: out }, () => `pulled ${r.project}/${r.artifact}@${v.number} to ${out} (${v.size} bytes, sha256 verified)\n`);
    });

  // ---- grants ----
  program
    .command('grant <principal> <role> <scope>')
    .description('grant a role (reader|writer|owner) on PROJECT, PROJECT/ARTIFACT or PROJECT/ARTIFACT@VERSION')
    .option('--expires <when>', 'duration (30m, 2h, 7d) or date')
    .option('--json', 'JSON output')
    .action(async (principal: string, role: string, scope: string, opts: { expires?: string; json?: boolean }) => {
      const g = await client().createGrant({ principal, role, ...parseScope(scope), ...(opts.expires ? { expiresAt: parseExpiry(opts.expires) } : {}) });
      print(opts.json, g, () => `granted ${role} on ${scope} to \`${principal}\` (grant ${g.id}${g.expiresAt ? `, expires ${g.expiresAt}` : ''})\n`);
    });
  program
    .command('revoke <grant-id>')
    .description('revoke a grant')
    .action(async (id: string) => {
      await client().revokeGrant(id);
      io.out(`grant ${id} revoked\n`);
    });
  program
    .command('grants <scope>')
    .description('list grants on PROJECT, PROJECT/ARTIFACT or PROJECT/ARTIFACT@VERSION')
    .option('--json', 'JSON output')
    .action(async (scope: string, opts: { json?: boolean }) => {
      const { items } = await client().listGrants(parseScope(scope));
      print(opts.json, items, () => table(items, ['id', 'principalId', 'role', 'scopeKind', 'expiresAt']));
    });

  // ---- keys and audit ----
  const keys = program.command('keys').description('keyring');
  keys
    .command('rotate')
    .description('add a key term and rewrap every data key (no data is re-encrypted)')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const r = await client().rotateKeys();
      print(opts.json, r, () => `key term ${r.term} is current; ${r.rewrapped} data keys rewrapped\n`);
    });
  keys
    .command('rotate-root')
    .description('rotate the root key that seals the keyring (file, HSM: a new key; env, KMS: the one now configured)')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const r = await client().rotateRootKey();
      print(opts.json, r, () => `keyring rewrapped under ${r.provider} root key ${r.keyId}${r.previousKeyId === null ? '' : ` (was ${r.previousKeyId}${r.destroyedPrevious ? ', destroyed' : ''})`}\n`);
    });
  const audit = program.command('audit').description('audit log');
  audit
    .command('checkpoint')
    .description('sign a checkpoint of the current tail; keep the file outside Coffer to detect tail deletion later')
    .option('-o, --output <file>', 'file (default stdout)')
    .action(async (opts: { output?: string }) => {
      const cp = await client().checkpointAudit();
      const text = JSON.stringify(cp, null, 2) + '\n';
      if (opts.output) writeFileSync(opts.output, text, { mode: 0o600 });
      else io.out(text);
    });
  audit
    .command('verify')
    .option('--checkpoint <file>', 'a checkpoint from `coffer audit checkpoint`: fail if the chain no longer reaches it')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean; checkpoint?: string }) => {
      const checkpoint = opts.checkpoint ? (JSON.parse(readFileSync(opts.checkpoint, 'utf8')) as CheckpointInfo) : undefined;
      const r = await client().verifyAudit(checkpoint);
      print(opts.json, r, () => (r.ok ? `audit chain intact: ${r.checked} records, last seq ${r.lastSeq}\n` : `audit chain BROKEN at seq ${r.firstBad?.seq}: ${r.firstBad?.reason}\n`) + coverage(r));
      if (!r.ok) process.exitCode = 2;
    });
  audit
    .command('export')
    .option('-o, --output <file>', 'file (default stdout)')
    .option('--from <seq>', 'first sequence number', (v) => Number(v), 1)
    .action(async (opts: { output?: string; from: number }) => {
      const stream = await client().exportAudit(opts.from);
      if (opts.output) await pipeline(stream, createWriteStream(opts.output, { mode: 0o600 }));
      else for await (const chunk of stream) io.out(String(chunk));
    });

  const ctx: CliContext = { io, client, print, table };
  for (const register of registrars) register(program, ctx);
  return program;
}

/** How much of the chain the witness outside the database vouches for (empty when the server keeps none). */
function coverage(r: VerifyInfo): string {
  if (r.witness === undefined) return '';
  const w = r.witness;
  const newest = w.newest;
  const head = newest === null
    ? `witness ${w.source}: holds no checkpoint; the whole chain is unwitnessed\n`
    : `witnessed up to seq ${newest.seq} (checkpoint of ${newest.time} by ${newest.node}, ${w.source}); ${r.unwitnessed ?? 0} records after it are unwitnessed\n`;
  return head + (w.fault !== null ? `witness DAMAGED: ${w.fault}\n` : '');
}

/** Runs the CLI; returns the exit code. Errors print `error: CODE: message`. */
export async function runCli(argv: string[], io: CliIo, serve: (opts: Record<string, unknown>) => Promise<void>, registrars: CommandRegistrar[] = []): Promise<number> {
  const program = buildProgram(io, serve, registrars);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    if (err instanceof CofferApiError) {
      io.err(`error: ${err.code}: ${err.message}\n`);
      if (err.code === 'COFFER_AUTH_STEP_UP_REQUIRED') io.err('run `coffer step-up` to confirm with your security key, then run the command again\n');
      if (err.code === 'COFFER_AUTH_ENROLLMENT_REQUIRED') io.err('ask an administrator for an enrollment ticket (`coffer enrollment-ticket <user>`), then run `coffer enroll --ticket ...`\n');
    }
    // local commands (`coffer migrate`, config errors) fail with Coffer's own errors: print the stable code too
    else if (isCofferError(err)) io.err(`error: ${err.code}: ${err.message}\n`);
    else if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') io.err(`error: cannot reach the Coffer server (${(err as Error).message})\n`);
    else io.err(`error: ${e.message ?? String(err)}\n`);
    return 1;
  }
}
