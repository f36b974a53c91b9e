import type { Command } from 'commander';
import { Option } from 'commander';
import { AccessClient } from '../client/access-client.js';
import type { AccessRequestInfo, ShareLinkInfo } from '../client/access-client.js';
import { parseArtifactRef, parseScope } from './artifact-ref.js';
import { loadCredentials } from './credentials.js';
import type { CliContext, CommandRegistrar } from './program.js';

/** Seconds from `90s`, `30m`, `2h`, `7d`, `1h30m`. */
export function parseDurationArg(text: string): number {
  if (!/^(\d+[dhms])+$/.test(text)) throw new Error(`\`${text}\` is not a duration (90s, 30m, 2h, 7d, 1h30m)`);
  let total = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g)) total += Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
  if (!Number.isSafeInteger(total) || total < 1) throw new Error(`\`${text}\` is not a duration (90s, 30m, 2h, 7d, 1h30m)`);
  return total;
}

/** `7200` -> `2h`, `5400` -> `1h30m`. */
export function formatSeconds(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}

export function versionRef(text: string): { project: string; artifact: string; version: number } {
  const r = parseArtifactRef(text);
  if (r.version === undefined || r.version === 'latest') throw new Error(`\`${text}\`: name the version number (PROJECT/ARTIFACT@N)`);
  return { project: r.project, artifact: r.artifact, version: Number(r.version) };
}

function describeRequest(r: AccessRequestInfo): string {
  const what = r.kind === 'promote' ? `promotion of ${r.scope} to ${r.target}` : r.kind === 'share' ? `share link to ${r.scope}` : r.kind === 'gate-exception' ? `gate exception for ${r.scope}` : `${r.role} on ${r.scope}`;
  const lines = [`${r.kind === 'break-glass' ? 'break-glass' : 'access request'} ${r.id} (${r.state}): ${r.requester} - ${what} for ${formatSeconds(r.durationSeconds)}`];
  lines.push(`  justification: ${r.justification}${r.ticket ? ` [${r.ticket}]` : ''}`);
  if (r.kind !== 'break-glass') lines.push(`  approvals: ${r.approvals.length} of ${r.approvalsRequired}${r.approvals.length ? ` (${r.approvals.map((a) => a.approver).join(', ')})` : ''}`);
  if (r.state === 'pending') lines.push(`  deadline: ${r.deadline}`);
  if (r.endsAt) lines.push(`  ${r.state === 'active' || r.state === 'approved' ? 'ends' : 'ended'}: ${r.endsAt}${r.grantId ? ` (grant ${r.grantId})` : ''}`);
  if (r.reason) lines.push(`  reason: ${r.reason}${r.decidedBy ? ` (${r.decidedBy})` : ''}`);
  if (r.review) lines.push(`  review: ${r.review.status}${r.review.by ? ` by ${r.review.by}: ${r.review.note}` : ''}`);
  return lines.join('\n') + '\n';
}

function requestRow(r: AccessRequestInfo) {
  return { id: r.id, kind: r.kind, state: r.state, requester: r.requester, what: r.kind === 'promote' ? `-> ${r.target}` : r.kind === 'share' ? 'share' : r.kind === 'gate-exception' ? 'gate exception' : r.role, scope: r.scope, duration: formatSeconds(r.durationSeconds), approvals: `${r.approvals.length}/${r.approvalsRequired}`, until: r.endsAt ?? r.deadline };
}

function linkRow(l: ShareLinkInfo) {
  return { id: l.id, version: l.version, state: l.state, downloads: l.maxDownloads === null ? String(l.downloads) : `${l.downloads}/${l.maxDownloads}`, expiresAt: l.expiresAt, createdBy: l.createdBy, hint: l.hint };
}

/**
 * `coffer access request|approve|deny|revoke|list|show`, `coffer breakglass` (and
 * `breakglass review list|signoff`), `coffer promote`, `coffer promotions`,
 * `coffer share create|list|revoke` (docs/access.md).
 */
export const accessCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const server = () => loadCredentials(ctx.io.env, program.opts<{ server?: string }>().server);
  const client = () => {
    const creds = server();
    return new AccessClient({ baseUrl: creds.server, token: creds.token, userAgent: 'coffer-cli/0.1.0' });
  };
  const roles = ['reader', 'writer', 'owner'];

  // ---- access requests ----
  const access = program.command('access').description('just-in-time access: ask for a role for a while, someone else approves, it ends by itself');
  access
    .command('request <scope>')
    .description('request a role on PROJECT, PROJECT/ARTIFACT or PROJECT/ARTIFACT@VERSION')
    .addOption(new Option('--role <role>', 'role').choices(roles).default('reader'))
    .requiredOption('--for <duration>', 'how long, from approval (30m, 2h, 7d); at most the role maximum')
    .requiredOption('--reason <text>', 'justification (recorded and sent to approvers)')
    .option('--ticket <ref>', 'ticket reference')
    .option('--json', 'JSON output')
    .action(async (scope: string, opts: { role: string; for: string; reason: string; ticket?: string; json?: boolean }) => {
      const r = await client().requestAccess({ ...parseScope(scope), role: opts.role, durationSeconds: parseDurationArg(opts.for), justification: opts.reason, ...(opts.ticket ? { ticket: opts.ticket } : {}) });
      ctx.print(opts.json, r, () =>
        r.state === 'active'
          ? `access request ${r.id} approved automatically: ${r.role} on ${r.scope} until ${r.endsAt}\n`
          : `access request ${r.id} is pending: ${r.role} on ${r.scope} for ${formatSeconds(r.durationSeconds)}, needs ${r.approvalsRequired} approval${r.approvalsRequired === 1 ? '' : 's'} by ${r.deadline}\n`,
      );
    });
  access
    .command('approve <id>')
    .description('approve a request (never your own); the access starts now')
    .option('--comment <text>')
    .option('--json', 'JSON output')
    .action(async (id: string, opts: { comment?: string; json?: boolean }) => {
      const r = await client().approve(id, opts.comment);
      ctx.print(opts.json, r, () =>
        r.state === 'pending'
          ? `approval recorded for ${r.id}: ${r.approvals.length} of ${r.approvalsRequired}\n`
          : r.kind === 'promote'
            ? `approved ${r.id}: ${r.requester} may promote ${r.scope} to ${r.target} until ${r.endsAt}\n`
            : r.kind === 'share'
              ? `approved ${r.id}: the share link to ${r.scope} works until ${r.endsAt}\n`
              : r.kind === 'gate-exception'
                ? `approved ${r.id}: the artifact gate no longer blocks ${r.scope} (until the exception is revoked)\n`
                : `approved ${r.id}: ${r.requester} has ${r.role} on ${r.scope} until ${r.endsAt} (grant ${r.grantId})\n`,
      );
    });
  access
    .command('deny <id>')
    .requiredOption('--reason <text>')
    .option('--json', 'JSON output')
    .action(async (id: string, opts: { reason: string; json?: boolean }) => {
      const r = await client().deny(id, opts.reason);
      ctx.print(opts.json, r, () => `denied ${r.id}\n`);
    });
  access
    .command('revoke <id>')
    .description('cancel your pending request, or end an approved access now (requester or approver)')
    .option('--reason <text>')
    .option('--json', 'JSON output')
    .action(async (id: string, opts: { reason?: string; json?: boolean }) => {
      const r = await client().revoke(id, opts.reason);
      ctx.print(opts.json, r, () => `${r.state} ${r.id}${r.grantId && r.state === 'revoked' ? ` (grant ${r.grantId} removed)` : ''}\n`);
    });
  access
    .command('list')
    .description('your requests (default), those waiting for your approval (--pending), or all you may decide on (--all)')
    .option('--pending', 'waiting for my approval')
    .option('--all', 'every request I may decide on, and mine')
    .option('--status <status>', 'pending|approved|denied|cancelled|revoked|used')
    .option('--json', 'JSON output')
    .action(async (opts: { pending?: boolean; all?: boolean; status?: string; json?: boolean }) => {
      const view = opts.pending ? 'to-approve' : opts.all ? 'all' : 'mine';
      const { items } = await client().listRequests({ view, ...(opts.status ? { status: opts.status } : {}) });
      ctx.print(opts.json, items, () => ctx.table(items.map(requestRow), ['id', 'kind', 'state', 'requester', 'what', 'scope', 'duration', 'approvals', 'until']));
    });
  access
    .command('show <id>')
    .option('--json', 'JSON output')
    .action(async (id: string, opts: { json?: boolean }) => {
      const r = await client().showRequest(id);
      ctx.print(opts.json, r, () => describeRequest(r));
    });

  // ---- break-glass ----
  const glass = program
    .command('breakglass')
    .description('emergency self-elevation (admins): immediate, short, alerted, reviewed afterwards by someone else')
    .argument('[scope]', 'PROJECT, PROJECT/ARTIFACT or PROJECT/ARTIFACT@VERSION')
    .addOption(new Option('--role <role>', 'role').choices(roles).default('reader'))
    .option('--for <duration>', 'how long (at most the break-glass maximum, 1h by default)', '30m')
    .option('--reason <text>', 'why the normal path cannot wait (mandatory)')
    .option('--ticket <ref>', 'incident reference')
    .option('--json', 'JSON output')
    .action(async (scope: string | undefined, opts: { role: string; for: string; reason?: string; ticket?: string; json?: boolean }) => {
      if (scope === undefined) throw new Error('name a scope: coffer breakglass PROJECT[/ARTIFACT[@VERSION]] --reason TEXT');
      if (opts.reason === undefined) throw new Error('--reason is mandatory for a break-glass');
      const r = await client().breakGlass({ ...parseScope(scope), role: opts.role, durationSeconds: parseDurationArg(opts.for), reason: opts.reason, ...(opts.ticket ? { ticket: opts.ticket } : {}) });
      ctx.print(opts.json, r, () =>
        [
          `BREAK-GLASS ${r.id}: ${r.role} on ${r.scope} until ${r.endsAt} (grant ${r.grantId})`,
          `alert: ${r.alert === 'sent' ? 'sent' : r.alert === 'disabled' ? 'no webhook configured (recorded in the audit log only)' : r.alert === 'retrying' ? 'first delivery FAILED, retrying in the background (recorded in the audit log)' : 'FAILED to reach the webhook (recorded in the audit log)'}`,
          `review ${r.id} is open until someone else signs it off: coffer breakglass review signoff ${r.id} --note TEXT`,
          '',
        ].join('\n'),
      );
    });
  const review = glass.command('review').description('after-the-fact reviews of break-glass');
  review
    .command('list')
    .option('--all', 'signed-off ones too')
    .option('--json', 'JSON output')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const { items } = await client().listReviews(opts.all === true);
      ctx.print(opts.json, items, () =>
        ctx.table(
          items.map((r) => ({ id: r.id, review: r.review?.status ?? '-', requester: r.requester, role: r.role, scope: r.scope, at: r.createdAt, ends: r.endsAt, reason: r.justification })),
          ['id', 'review', 'requester', 'role', 'scope', 'at', 'ends', 'reason'],
        ),
      );
    });
  review
    .command('signoff <id>')
    .requiredOption('--note <text>', 'what was checked')
    .option('--json', 'JSON output')
    .action(async (id: string, opts: { note: string; json?: boolean }) => {
      const r = await client().signOff(id, opts.note);
      ctx.print(opts.json, r, () => `review of break-glass ${r.id} signed off by ${r.review?.by}\n`);
    });

  // ---- promotions ----
  program
    .command('promote <project/artifact@version>')
    .description('promote a version to the next environment (dev -> staging -> prod); files the approval request when one is needed')
    .addOption(new Option('--to <environment>').choices(['staging', 'prod']).makeOptionMandatory())
    .option('--reason <text>', 'justification for the approvers')
    .option('--json', 'JSON output')
    .action(async (ref: string, opts: { to: 'staging' | 'prod'; reason?: string; json?: boolean }) => {
      const r = await client().promote({ ...versionRef(ref), to: opts.to, ...(opts.reason ? { justification: opts.reason } : {}) });
      ctx.print(opts.json, r, () =>
        r.status === 'promoted'
          ? `promoted ${r.promotion.version} ${r.promotion.from} -> ${r.promotion.to} (checks passed: ${r.promotion.checks.join(', ')}; sha256 ${r.promotion.sha256})\n`
          : `promotion to ${opts.to} needs ${r.request.approvalsRequired} approval${r.request.approvalsRequired === 1 ? '' : 's'}: request ${r.request.id} is ${r.request.state} (${r.request.approvals.length} so far); run this again once it is approved\n`,
      );
    });
  program
    .command('promotions <project/artifact>')
    .description('promotions of the versions of an artifact')
    .option('--json', 'JSON output')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const r = parseArtifactRef(ref, { version: 'forbidden' });
      const { items } = await client().listPromotions(r.project, r.artifact);
      ctx.print(opts.json, items, () => ctx.table(items, ['version', 'from', 'to', 'promotedBy', 'promotedAt', 'requestId', 'checks']));
    });

  // ---- share links ----
  const share = program.command('share').description('revocable, time-limited, read-only links to one version');
  share
    .command('create <project/artifact@version>')
    .option('--ttl <duration>', 'lifetime (default and maximum: the server setting, 24h by default)')
    .option('--max-downloads <n>', 'uses allowed (every request counts, ranged or not)', (v) => {
      if (!/^[1-9]\d{0,6}$/.test(v)) throw new Error('--max-downloads must be a positive integer');
      return Number(v);
    })
    .option('--cidr <network...>', 'only from these networks (10.0.0.0/8, 2001:db8::/32)')
    .option('--reason <text>', 'justification (required for restricted versions, which need an approval)')
    .option('--json', 'JSON output')
    .action(async (ref: string, opts: { ttl?: string; maxDownloads?: number; cidr?: string[]; reason?: string; json?: boolean }) => {
      const r = await client().createShareLink({
        ...versionRef(ref),
        ...(opts.ttl ? { ttlSeconds: parseDurationArg(opts.ttl) } : {}),
        ...(opts.maxDownloads ? { maxDownloads: opts.maxDownloads } : {}),
        ...(opts.cidr ? { cidrs: opts.cidr } : {}),
        ...(opts.reason ? { justification: opts.reason } : {}),
      });
      const url = `${server().server.replace(/\/+$/, '')}${r.path}`;
      ctx.print(opts.json, { ...r, url }, () => `${url}\n`);
      if (!opts.json) {
        ctx.io.err(
          r.link.state === 'pending-approval'
            ? `share link ${r.link.id} waits for approval (request ${r.link.requestId}); it works for ${formatSeconds(r.link.ttlSeconds)} from then. The URL is shown only once.\n`
            : `share link ${r.link.id} works until ${r.link.expiresAt}${r.link.maxDownloads ? ` for ${r.link.maxDownloads} download(s)` : ''}. The URL is shown only once.\n`,
        );
      }
    });
  share
    .command('list [project/artifact@version]')
    .description('your links, or all links on a version you may approve on')
    .option('--json', 'JSON output')
    .action(async (ref: string | undefined, opts: { json?: boolean }) => {
      const { items } = await client().listShareLinks(ref === undefined ? {} : versionRef(ref));
      ctx.print(opts.json, items, () => ctx.table(items.map(linkRow), ['id', 'version', 'state', 'downloads', 'expiresAt', 'createdBy', 'hint']));
    });
  share
    .command('revoke <id>')
    .description('revoke a link now: the next use is refused')
    .option('--json', 'JSON output')
    .action(async (id: string, opts: { json?: boolean }) => {
      const l = await client().revokeShareLink(id);
      ctx.print(opts.json, l, () => `share link ${l.id} revoked (${l.downloads} download${l.downloads === 1 ? '' : 's'} before)\n`);
    });
};
