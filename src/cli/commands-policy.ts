import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PolicyClient, type ExplainContextInfo, type ExplainInfo, type ImpactInfo, type PolicyDiffInfo, type PolicySourceInput, type PolicyTestReportInfo } from '../client/index.js';
import { loadCredentials } from './credentials.js';
import { parseScope } from './artifact-ref.js';
import type { CliContext, CommandRegistrar } from './program.js';

/**
 * Reads policy files: each FILE as given (its path names it in messages, so errors
 * point at `path:line:column`), a directory as its `*.cedar` files in name order.
 */
export function readPolicyFiles(paths: readonly string[]): PolicySourceInput[] {
  const out: PolicySourceInput[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).filter((n) => n.endsWith('.cedar')).sort()) out.push({ name: join(p, f), text: readFileSync(join(p, f), 'utf8') });
    } else {
      out.push({ name: p, text: readFileSync(p, 'utf8') });
    }
  }
  return out;
}

const int = (what: string) => (v: string) => {
  if (!/^\d{1,10}$/.test(v)) throw new Error(`${what} must be a non-negative integer, got \`${v}\``);
  return Number(v);
};

/** `coffer policy ...` and `coffer authz explain` (docs/policy.md). */
export const policyCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const client = () => {
    const creds = loadCredentials(ctx.io.env, program.opts<{ server?: string }>().server);
    return new PolicyClient({ baseUrl: creds.server, token: creds.token, userAgent: 'coffer-cli/0.1.0' });
  };
  const policy = program.command('policy').description('policy sets: validate, test, diff, apply, roll back, impact analysis');

  policy
    .command('validate <files...>')
    .description('validate custom policy files strictly against the schema, as apply would (files or directories of .cedar)')
    .option('--json', 'JSON output')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const r = await client().validate(readPolicyFiles(files));
      ctx.print(opts.json, r, () => `valid: ${r.policies.length} ${r.policies.length === 1 ? 'policy' : 'policies'}\n` + r.policies.map((p) => `  ${p.id}  ${p.source}:${p.line}:${p.column}\n`).join(''));
    });

  policy
    .command('fmt <files...>')
    .description("lay out policy files with Cedar's formatter (files or directories of .cedar); prints them, or --write / --check")
    .option('--write', 'rewrite the files that change, and name them')
    .option('--check', 'name the files that would change; exit code 1 if any')
    .action(async (files: string[], opts: { write?: boolean; check?: boolean }) => {
      if (opts.write && opts.check) throw new Error('--write and --check exclude each other');
      const given = readPolicyFiles(files);
      // the server formats (the CLI holds no Cedar engine); nothing is written unless all parse
      const { sources: formatted } = await client().format(given);
      const changed: string[] = [];
      given.forEach((source, i) => {
        const text = formatted[i]!.text;
        if (!opts.write && !opts.check) ctx.io.out(text);
        else if (text !== source.text) {
          changed.push(source.name);
          if (opts.write) writeFileSync(source.name, text);
          ctx.io.out(`${source.name}\n`);
        }
      });
      if (opts.check && changed.length > 0) throw new Error(`${changed.length} ${changed.length === 1 ? 'file is' : 'files are'} not formatted (coffer policy fmt --write)`);
    });

  policy
    .command('test <test-file> [files...]')
    .description('run policy test cases (JSON) against the files given, the files the test file names, or the active set')
    .option('--json', 'JSON output')
    .action(async (testFile: string, files: string[], opts: { json?: boolean }) => {
      const parsed = JSON.parse(readFileSync(testFile, 'utf8')) as { policies?: unknown; tests?: unknown };
      let sources: PolicySourceInput[] | undefined;
      if (files.length > 0) sources = readPolicyFiles(files);
      else if (Array.isArray(parsed.policies)) sources = readPolicyFiles(parsed.policies.map((p) => resolveFrom(testFile, String(p))));
      if (!Array.isArray(parsed.tests)) throw new Error(`\`${testFile}\` has no \`tests\` list`);
      const r = await client().test({ ...(sources ? { sources } : {}), tests: parsed.tests });
      ctx.print(opts.json, r, () => testReport(r));
      if (r.failed > 0) throw new Error(`${r.failed} of ${r.passed + r.failed} policy tests failed`);
    });

  policy
    .command('diff [files...]')
    .description('compare policy sets by policy id: the active set (or --from) against files (or --to)')
    .option('--from <version>', 'version to compare from (default: the active one)', int('--from'))
    .option('--to <version>', 'version to compare to (instead of files)', int('--to'))
    .option('--json', 'JSON output')
    .action(async (files: string[], opts: { from?: number; to?: number; json?: boolean }) => {
      const r = await client().diff({ ...(files.length > 0 ? { sources: readPolicyFiles(files) } : {}), ...(opts.from !== undefined ? { from: opts.from } : {}), ...(opts.to !== undefined ? { to: opts.to } : {}) });
      ctx.print(opts.json, r, () => diffReport(r));
    });

  policy
    .command('apply <files...>')
    .description('store the files as the next policy set version and activate it (atomic, audited; replaces the custom set)')
    .option('-m, --message <text>', 'why (kept with the version)')
    .option('--json', 'JSON output')
    .action(async (files: string[], opts: { message?: string; json?: boolean }) => {
      const r = await client().apply({ sources: readPolicyFiles(files), ...(opts.message ? { message: opts.message } : {}) });
      ctx.print(opts.json, r, () => (r.unchanged ? `unchanged: version ${r.version} is already active\n` : `applied: version ${r.version} is active (${r.policies} custom ${r.policies === 1 ? 'policy' : 'policies'}, activation ${r.activation})\n`));
    });

  policy
    .command('rollback [version]')
    .description('activate an earlier version again (default: the one active before the current one; 0 = built-in set only)')
    .option('--json', 'JSON output')
    .action(async (version: string | undefined, opts: { json?: boolean }) => {
      const r = await client().rollback(version === undefined ? undefined : int('version')(version));
      ctx.print(opts.json, r, () => `rolled back: version ${r.version} is active (${r.policies} custom ${r.policies === 1 ? 'policy' : 'policies'}, activation ${r.activation})\n`);
    });

  policy
    .command('list')
    .description('the active set, stored versions and recent activations')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const r = await client().list();
      ctx.print(opts.json, r, () => {
        const active = `active: version ${r.active.version}${r.active.version === 0 ? ' (built-in set only)' : ''}${r.active.failure ? ` - NOT LOADED on this node: ${r.active.failure}` : ''}\n\n`;
        const rows = [{ version: 0, active: r.active.version === 0 ? '*' : '', policies: 0, createdBy: '-', createdAt: '-', message: 'built-in set (baseline + trusted networks)' }, ...r.versions.map((v) => ({ ...v, active: v.active ? '*' : '' }))];
        return active + ctx.table(rows, ['active', 'version', 'policies', 'createdBy', 'createdAt', 'message']) + '\nrecent activations:\n' + ctx.table(r.activations, ['seq', 'version', 'kind', 'activatedBy', 'activatedAt']);
      });
    });

  policy
    .command('show [version]')
    .description('a version with its policies (default: the active one; 0 = the built-in set)')
    .option('--source', 'print the policy texts')
    .option('--json', 'JSON output')
    .action(async (version: string | undefined, opts: { source?: boolean; json?: boolean }) => {
      const wanted = version === undefined ? (await client().list()).active.version : int('version')(version);
      const r = await client().show(wanted);
      ctx.print(opts.json, r, () => {
        const head = `version ${r.version}${r.active ? ' (active)' : ''}${r.createdBy ? `, by ${r.createdBy} at ${r.createdAt}` : ''}${r.message ? `: ${r.message}` : ''}\n`;
        const ids = r.policies.map((p) => `  ${p.id}  ${p.at}\n`).join('') || '  (no policies)\n';
        const texts = opts.source ? r.sources.map((s) => `\n--- ${s.name}\n${s.text.endsWith('\n') ? s.text : s.text + '\n'}`).join('') : '';
        return head + ids + texts;
      });
    });

  policy
    .command('impact <files...>')
    .description('replay the decisions of the audit log over the last N days against the files (a draft) and report what would change')
    .requiredOption('--days <n>', 'how many days back', int('--days'))
    .option('--json', 'JSON output')
    .action(async (files: string[], opts: { days: number; json?: boolean }) => {
      const r = await client().impact({ sources: readPolicyFiles(files), days: opts.days });
      ctx.print(opts.json, r, () => impactReport(r, ctx));
    });

  const authz = program.command('authz').description('authorization decisions');
  authz
    .command('explain <principal> <action> <resource>')
    .description('explain the decision for PRINCIPAL doing ACTION on RESOURCE (system, PROJECT, PROJECT/ARTIFACT or PROJECT/ARTIFACT@VERSION)')
    .option('--ip <address>', 'source address (default: yours)')
    .option('--at <time>', 'ISO time of the request (default: now)')
    .option('--mfa <methods>', 'comma-separated authentication methods (default: yours), e.g. webauthn,password')
    .option('--mfa-age <seconds>', 'age of the strongest factor', int('--mfa-age'))
    .option('--managed-device', 'from a managed device')
    .option('--local-hour <hour>', 'pin the local hour (0-23)', int('--local-hour'))
    .option('--weekday <day>', 'pin the local weekday (mon..sun)')
    .option('--json', 'JSON output')
    .action(async (principal: string, action: string, resource: string, opts: { ip?: string; at?: string; mfa?: string; mfaAge?: number; managedDevice?: boolean; localHour?: number; weekday?: string; json?: boolean }) => {
      const context: ExplainContextInfo = {};
      if (opts.ip !== undefined) context.sourceIp = opts.ip;
      if (opts.at !== undefined) {
        const t = Date.parse(opts.at);
        if (Number.isNaN(t)) throw new Error(`--at: \`${opts.at}\` is not a date and time`);
        context.time = t;
      }
      if (opts.mfa !== undefined) context.mfa = opts.mfa.split(',').filter((m) => m.length > 0);
      if (opts.mfaAge !== undefined) context.mfaAgeSeconds = opts.mfaAge;
      if (opts.managedDevice) context.deviceManaged = true;
      if (opts.localHour !== undefined) context.localHour = opts.localHour;
      if (opts.weekday !== undefined) context.localWeekday = opts.weekday;
      const target = resource === 'system' || resource === 'coffer' ? ('system' as const) : parseScope(resource);
      const r = await client().explain({ principal, action, resource: target, ...(Object.keys(context).length > 0 ? { context } : {}) });
      ctx.print(opts.json, r, () => explainReport(r, ctx));
    });
};

function resolveFrom(file: string, relative: string): string {
  return resolve(dirname(file), relative);
}

function testReport(r: PolicyTestReportInfo): string {
  const lines = r.results.map((t) => (t.passed ? `ok    ${t.name}\n` : `FAIL  ${t.name}\n      ${t.message}\n`));
  const what = r.tested === 'draft' ? 'the draft' : `active version ${r.tested.version}`;
  return lines.join('') + `\n${r.passed} passed, ${r.failed} failed (against ${what})\n`;
}

function diffReport(r: PolicyDiffInfo): string {
  const out: string[] = [`diff: version ${r.from} -> ${r.to === 'draft' ? 'draft' : `version ${r.to}`}`];
  for (const p of r.added) out.push(`\n+ added ${p.id} (${p.at})`, ...p.text.split('\n').map((l) => `+ ${l}`));
  for (const p of r.removed) out.push(`\n- removed ${p.id} (${p.at})`, ...p.text.split('\n').map((l) => `- ${l}`));
  for (const c of r.changed) out.push(`\n~ changed ${c.id} (${c.before.at} -> ${c.after.at})`, ...c.lines.map((l) => `${l[0] === ' ' ? ' ' : l[0]} ${l.slice(1)}`));
  out.push(`\n${r.added.length} added, ${r.removed.length} removed, ${r.changed.length} changed, ${r.unchanged.length} unchanged`);
  return out.join('\n') + '\n';
}

function explainReport(r: ExplainInfo, ctx: CliContext): string {
  const c = r.request.context;
  const out: string[] = [
    `decision: ${r.allowed ? 'ALLOW' : 'DENY'} (${r.cause}; policy set version ${r.policyVersion})`,
    `  ${r.summary}`,
    `request: \`${r.request.principal}\` ${r.request.action} ${r.request.resource}`,
    `  from ${c.sourceIp} at ${c.time}, mfa [${c.mfa.join(', ')}] ${c.mfaAgeSeconds}s old, ${c.deviceManaged ? 'managed' : 'unmanaged'} device`,
  ];
  const policies = (title: string, list: ExplainInfo['determining']) => {
    if (list.length === 0) return;
    out.push(`${title}:`);
    for (const p of list) {
      out.push(`  ${p.id}  ${p.effect}${p.kind !== 'policy' ? ` (${p.kind} of ${p.policyId})` : ''}  ${p.at}${p.error ? `\n    error: ${p.error}` : ''}`);
      if (p.kind === 'policy') out.push(...p.text.split('\n').map((l) => `    | ${l}`));
    }
  };
  policies('determining policies', r.determining);
  policies('policies that failed (fail closed)', r.errored);
  if (r.grants.length > 0) out.push('grants on the resource and its parents:', ...ctx.table(r.grants, ['grant', 'holder', 'role', 'scope', 'expiresAt', 'status']).trimEnd().split('\n').map((l) => `  ${l}`));
  else if (!r.allowed && r.cause === 'no-permit') out.push('grants on the resource and its parents: none');
  if (r.suggestion) out.push(`would allow: ${r.suggestion}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

function impactReport(r: ImpactInfo, ctx: CliContext): string {
  const skipped = Object.entries(r.skipped).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const out = [
    `impact over the last ${r.days} days (since ${r.since}):`,
    `  ${r.examined} audit records read, ${r.replayed} decisions replayed (skipped: ${skipped})`,
    `  would change: ${r.toDeny + r.toAllow} (${r.toDeny} allow -> deny, ${r.toAllow} deny -> allow)`,
    `  drifted: ${r.drifted} (the active set already decides otherwise than recorded: policies, grants or catalog changed since)`,
  ];
  if (r.truncated) out.push('  (stopped early: too many audit records; narrow --days)');
  if (r.changes.length > 0) {
    const rows = r.changes.map((ch) => ({ ...ch, change: `${ch.from} -> ${ch.to}`, because: [...ch.draftDetermining, ...ch.draftErrors.map((e) => `error: ${e}`)].join(', ') || '(no permit)' }));
    out.push('', ...ctx.table(rows, ['change', 'count', 'actor', 'action', 'resource', 'because', 'lastTime']).trimEnd().split('\n'));
  }
  return out.join('\n') + '\n';
}
