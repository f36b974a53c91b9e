import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Argument, Option } from 'commander';
import { MonitorClient } from '../client/monitor-client.js';
import type { AlertInfo, RecommendationInfo } from '../client/monitor-client.js';
import { loadCredentials } from './credentials.js';
import type { CliContext, CommandRegistrar } from './program.js';

const TIERS = ['public', 'internal', 'confidential', 'restricted'];

function positiveInt(what: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${what} must be an integer of at least ${min}`);
    return n;
  };
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function describeAlert(a: AlertInfo): string {
  return `${a.id} ${a.time} [${a.severity}] ${a.rule} ${a.principal}${a.action === 'lock' ? ' (locked)' : ''}${a.status === 'acked' ? ` (acked by ${a.ackedBy ?? '-'})` : ''}\n  ${a.summary}\n  evidence: ${a.evidence.length} audit records, seq ${a.evidence[0] ?? '-'}..${a.evidence[a.evidence.length - 1] ?? '-'}\n`;
}

function describeRecommendation(r: RecommendationInfo): string {
  const lines = [`${r.principal} (${r.kind}): ${r.grantsNow} grant${r.grantsNow === 1 ? '' : 's'} now, ${r.grantsAfter} after, from the use of the last ${r.windowDays} days${r.applied ? ' (applied)' : ''}`];
  for (const g of r.keep) lines.push(`  keep    ${g.role.padEnd(7)} ${g.scope}`);
  for (const g of r.add) lines.push(`  add     ${g.role.padEnd(7)} ${g.scope}   (${g.reason}; replaces ${g.replaces})`);
  for (const g of r.remove) lines.push(`  remove  ${g.role.padEnd(7)} ${g.scope}   (${g.reason})`);
  for (const u of r.viaOtherRights) lines.push(`  note    ${u.action} on ${u.scope} came through a group or administrator right`);
  if (r.keep.length + r.add.length + r.remove.length === 0) lines.push('  (no direct grants, nothing used)');
  if (!r.applied && (r.add.length > 0 || r.remove.length > 0)) lines.push(`apply with: coffer recommend ${r.principal} --apply`);
  return lines.join('\n') + '\n';
}

/**
 * `coffer alerts list|show|ack`, `coffer locks`, `coffer unlock`, `coffer review
 * start|list|remind|decide|export`, `coffer recommend` (docs/monitoring.md).
 */
export const monitorCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const client = () => {
    const creds = loadCredentials(ctx.io.env, program.opts<{ server?: string }>().server);
    return new MonitorClient({ baseUrl: creds.server, token: creds.token, userAgent: 'coffer-cli/0.1.0' });
  };

  // ---- alerts and locks ----
  const alerts = program.command('alerts').description('alerts of the detectors over the audit stream');
  alerts
    .command('list')
    .option('--all', 'acknowledged alerts too')
    .option('--principal <name>', 'alerts of one principal')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'))
    .option('--json', 'JSON output')
    .action(async (opts: { all?: boolean; principal?: string; limit?: number; json?: boolean }) => {
      const page = await client().listAlerts({ ...(opts.all ? {} : { status: 'open' as const }), ...(opts.principal ? { principal: opts.principal } : {}), ...(opts.limit ? { limit: opts.limit } : {}) });
      ctx.print(opts.json, page.items, () => (page.items.length === 0 ? '(no alerts)\n' : page.items.map(describeAlert).join('')));
    });
  alerts
    .command('show <id>')
    .description('an alert with the audit records behind it')
    .option('--json', 'JSON output')
    .action(async (id: string, opts: { json?: boolean }) => {
      const a = await client().showAlert(id);
      ctx.print(opts.json, a, () => {
        const measures = Object.entries(a.measures).map(([k, v]) => `${k}=${typeof v === 'number' && /bytes/i.test(k) ? bytes(v) : v}`).join(' ');
        const records = a.records.map((r) => `  #${r.seq} ${r.time} ${r.action} ${r.outcome} ${r.resource}${r.bytes !== null ? ` ${bytes(r.bytes)}` : ''} from ${r.sourceIp}`);
        return describeAlert(a) + `  measures: ${measures}\n` + records.join('\n') + '\n';
      });
    });
  alerts
    .command('ack <id>')
    .option('--note <text>', 'what was found')
    .action(async (id: string, opts: { note?: string }) => {
      const a = await client().ackAlert(id, opts.note);
      ctx.io.out(`alert ${a.id} acknowledged\n`);
    });
  program
    .command('locks')
    .description('principals locked by the monitor')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const { items } = await client().listLocks();
      ctx.print(opts.json, items, () => ctx.table(items, ['principal', 'lockedAt', 'reason', 'tokensRevoked', 'downloadsAborted', 'alert']));
    });
  program
    .command('unlock <principal>')
    .description('lift the monitor lock of a principal after review (its tokens stay revoked)')
    .option('--note <text>', 'what the review found')
    .action(async (principal: string, opts: { note?: string }) => {
      const r = await client().unlock(principal, opts.note);
      ctx.io.out(`\`${r.principal}\` unlocked (${r.locksLifted} lock${r.locksLifted === 1 ? '' : 's'} lifted); issue it new credentials: coffer token create --for ${r.principal}\n`);
    });

  // ---- access reviews ----
  const review = program.command('review').description('access review campaigns');
  review
    .command('start')
    .description('start a campaign over a project, a tier or every grant')
    .option('--project <name>', 'the grants of one project')
    .addOption(new Option('--tier <tier>', 'the grants reaching one tier').choices(TIERS))
    .option('--all', 'every grant')
    .option('--name <text>', 'campaign name')
    .option('--stale-days <n>', 'revoke at once grants unused this long (0 = none; default: the server setting)', positiveInt('--stale-days', 0))
    .option('--due-days <n>', 'reviewers have this many days', positiveInt('--due-days'))
    .option('--json', 'JSON output')
    .action(async (opts: { project?: string; tier?: string; all?: boolean; name?: string; staleDays?: number; dueDays?: number; json?: boolean }) => {
      const chosen = [opts.project !== undefined, opts.tier !== undefined, opts.all === true].filter(Boolean).length;
      if (chosen !== 1) throw new Error('choose exactly one of --project, --tier, --all');
      const c = await client().startReview({
        scope: opts.project !== undefined ? 'project' : opts.tier !== undefined ? 'tier' : 'all',
        ...(opts.project !== undefined ? { project: opts.project } : {}),
        ...(opts.tier !== undefined ? { tier: opts.tier } : {}),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.staleDays !== undefined ? { staleDays: opts.staleDays } : {}),
        ...(opts.dueDays !== undefined ? { dueDays: opts.dueDays } : {}),
      });
      ctx.print(opts.json, c, () => `campaign ${c.id} started: ${c.items ?? 0} grants to review, ${c.autoRevoked} revoked at once (stale or disabled)${c.status === 'closed' ? '; nothing left to decide' : ''}\n`);
    });
  review
    .command('list [campaign]')
    .description('campaigns, or the items of one campaign you may decide')
    .addOption(new Option('--status <status>').choices(['open', 'closed']))
    .option('--json', 'JSON output')
    .action(async (campaign: string | undefined, opts: { status?: 'open' | 'closed'; json?: boolean }) => {
      if (campaign === undefined) {
        const { items } = await client().listReviews(opts.status);
        ctx.print(opts.json, items, () => ctx.table(items.map((c) => ({ ...c, lastRemindedAt: c.lastRemindedAt ?? 'never' })), ['id', 'name', 'scope', 'status', 'items', 'pending', 'revoked', 'certified', 'createdAt', 'lastRemindedAt']));
        return;
      }
      const r = await client().showReview(campaign);
      ctx.print(opts.json, r, () => `${r.campaign.name} (${r.campaign.status}${r.campaign.dueAt !== null ? `, due ${r.campaign.dueAt}` : ''}; last reminded: ${r.campaign.lastRemindedAt ?? 'never'})\n` + ctx.table(r.items.map((i) => ({ ...i, lastUsedAt: i.lastUsedAt ?? 'never', reviewers: i.reviewers.join(' ') })), ['id', 'principal', 'role', 'scope', 'lastUsedAt', 'decision', 'decidedBy', 'reviewers']));
    });
  review
    .command('remind <campaign>')
    .description('remind the reviewers of their pending items now (reminders also go out every reviewReminderHours)')
    .option('--json', 'JSON output')
    .action(async (campaign: string, opts: { json?: boolean }) => {
      const r = await client().remindReview(campaign);
      ctx.print(opts.json, r, () => (r.reminders === 0 ? `nothing to remind: no pending item in ${campaign}\n` : `${r.reminders} reminder${r.reminders === 1 ? '' : 's'} sent: ${r.reviewers.join(', ')}\n`));
    });
  review
    .command('decide <item>')
    .addArgument(new Argument('<decision>', 'certify or revoke').choices(['certify', 'revoke']))
    .option('--note <text>', 'why')
    .action(async (item: string, decision: 'certify' | 'revoke', opts: { note?: string }) => {
      const i = await client().decide(item, decision, opts.note);
      ctx.io.out(`${i.principal} ${i.role} on ${i.scope}: ${i.decision === 'revoke' ? 'revoked' : 'certified'}\n`);
    });
  review
    .command('export <campaign>')
    .addOption(new Option('--format <format>').choices(['csv', 'json']).default('csv'))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (campaign: string, opts: { format: 'csv' | 'json'; output?: string }) => {
      const text = await client().exportReview(campaign, opts.format);
      if (opts.output === undefined) ctx.io.out(text);
      else {
        writeFileSync(opts.output, text, { mode: 0o600 });
        ctx.io.err(`campaign ${campaign} exported to ${opts.output}\n`);
      }
    });

  // ---- least-privilege recommendations ----
  program
    .command('recommend [principal]')
    .description('the smallest set of grants covering what a principal used; --apply narrows its grants')
    .option('--days <n>', 'window of use (default: the server setting)', positiveInt('--days'))
    .option('--apply', 'apply the recommendation (audited)')
    .option('--service-accounts', 'report over-privileged service accounts instead')
    .option('--json', 'JSON output')
    .action(async (principal: string | undefined, opts: { days?: number; apply?: boolean; serviceAccounts?: boolean; json?: boolean }) => {
      if (opts.serviceAccounts === true) {
        const { items } = await client().overPrivileged(opts.days);
        ctx.print(opts.json, items, () => (items.length === 0 ? '(no over-privileged service account)\n' : items.map((i) => `${i.principal}: ${i.grantsNow} grant${i.grantsNow === 1 ? '' : 's'} held, ${i.grantsAfter} needed\n${i.findings.map((f) => `  - ${f}\n`).join('')}`).join('')));
        return;
      }
      if (principal === undefined) throw new Error('name a principal, or use --service-accounts');
      const r = opts.apply === true ? await client().applyRecommendation(principal, opts.days) : await client().recommend(principal, opts.days);
      ctx.print(opts.json, r, () => describeRecommendation(r));
    });
};
