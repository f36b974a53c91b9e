import type { Command } from 'commander';
import { GateClient } from '../client/gate-client.js';
import type { ScanInfo, ScanVerdictInfo } from '../client/gate-client.js';
import { versionRef } from './commands-access.js';
import { loadCredentials } from './credentials.js';
import type { CliContext, CommandRegistrar } from './program.js';

function verdictLine(label: string, v: ScanVerdictInfo | undefined): string {
  if (v === undefined) return `  ${label}: -`;
  const counts = Object.entries(v.counts).map(([type, n]) => `${type} x${n}`);
  return `  ${label}: ${v.outcome}${counts.length ? ` (${counts.join(', ')})` : ''}`;
}

/** The human form of a scan: verdict, flags, counts, then the first locations (never values). */
export function describeScan(s: ScanInfo, maxLocations = 10): string {
  const lines = [`${s.version}: ${s.state}${s.scannedAt ? ` (scanned ${s.scannedAt})` : ''}`, `  effective tier: ${s.effectiveTier}`];
  if (s.exceptionRequestId) lines.push(`  gate exception: ${s.exceptionRequestId} (approved)`);
  if (s.report !== null) {
    lines.push(`  format: ${s.report.format}, ${s.report.bytes} bytes`);
    lines.push(verdictLine('unsafe code', s.report.unsafeCode), verdictLine('secrets', s.report.secrets), verdictLine('personal data', s.report.pii));
    const findings = [...s.report.unsafeCode.findings, ...s.report.secrets.findings, ...s.report.pii.findings];
    for (const f of findings.slice(0, maxLocations)) lines.push(`    ${f.type}${f.detail ? ` ${f.detail}` : ''}${f.location ? ` at ${JSON.stringify(f.location)}` : ''}`);
    if (findings.length > maxLocations) lines.push(`    ... ${findings.length - maxLocations} more (--json for all)`);
  }
  return lines.join('\n') + '\n';
}

/** `coffer gate scan PROJECT/ARTIFACT@N`, `coffer gate except PROJECT/ARTIFACT@N --reason` (docs/gate.md). */
export const gateCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const client = () => {
    const creds = loadCredentials(ctx.io.env, program.opts<{ server?: string }>().server);
    return new GateClient({ baseUrl: creds.server, token: creds.token, userAgent: 'coffer-cli/0.1.0' });
  };
  const gate = program.command('gate').description('the artifact gate: scan verdicts of versions (unsafe code, secrets, personal data) and exceptions');
  gate
    .command('scan <version>')
    .description("show a version's verdict and where the findings are (PROJECT/ARTIFACT@N); values are never shown")
    .option('--json', 'JSON output (the whole report)')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const s = await client().scan(versionRef(ref));
      ctx.print(opts.json, s, () => describeScan(s));
    });
  gate
    .command('except <version>')
    .description('ask for an exception to the gate block on a version; someone else approves it (coffer access approve)')
    .requiredOption('--reason <text>', 'justification (recorded and sent to approvers)')
    .option('--json', 'JSON output')
    .action(async (ref: string, opts: { reason: string; json?: boolean }) => {
      const r = await client().requestException({ ...versionRef(ref), justification: opts.reason });
      ctx.print(opts.json, r, () => `gate exception ${r.id} is pending for ${r.scope}: needs ${r.approvalsRequired} approval${r.approvalsRequired === 1 ? '' : 's'} by ${r.deadline} (coffer access approve ${r.id})\n`);
    });
};
