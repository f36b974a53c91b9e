import { existsSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { isCofferError } from '../domain/errors.js';
import {
  SEVERITIES,
  builtinRules,
  checkPlan,
  formatSarif,
  formatTable,
  loadRules,
  outcome,
  parsePlan,
  testRuleFixtures,
} from '../environments/index.js';
import type { Rule, Severity, UnknownPolicy } from '../environments/index.js';
import type { CliContext, CommandRegistrar } from './program.js';

/** Exit status for usage and input errors of `coffer iac` (1 means "violations found"). */
const USAGE = 2;

/** Reads a plan file (or stdin for `-`) without reading more than `max` bytes. */
function readBounded(path: string, max: number): string {
  if (path !== '-') {
    let st;
    try {
      st = statSync(path);
    } catch (err) {
      throw new Error(`cannot read the plan \`${path}\`: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!st.isFile()) throw new Error(`\`${path}\` is not a file`);
    if (st.size > max) throw new Error(`\`${path}\` is ${st.size} bytes, larger than the limit of ${max} (--max-plan-mb)`);
    return readFileSync(path, 'utf8');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(1 << 16);
  const fd = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((err as NodeJS.ErrnoException).code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    total += n;
    if (total > max) throw new Error(`the plan on stdin is larger than the limit of ${max} bytes (--max-plan-mb)`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function loadAllRules(opts: { rules?: string[]; builtin?: boolean }): Rule[] {
  const builtin = opts.builtin === false ? [] : builtinRules();
  return [...builtin, ...loadRules(opts.rules ?? [], builtin)];
}

/** A path as a relative URI reference for SARIF (forward slashes, each segment escaped). */
function uriOf(path: string): string {
  const rel = relative(process.cwd(), path) || path;
  return rel.split(sep).map(encodeURIComponent).join('/');
}

/** Runs `fn`; a failure prints `error: CODE: message` and sets exit status 2. */
async function usageErrors(ctx: CliContext, fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const code = isCofferError(err) ? `${err.code}: ` : '';
    ctx.io.err(`error: ${code}${(err as Error).message}\n`);
    process.exitCode = USAGE;
  }
}

/**
 * `coffer iac check PLAN` (a Terraform plan from `terraform show -json`, or `-` for
 * stdin) and `coffer iac rules` (list, or `--test` the fixtures of rule files). Works
 * offline: no server, no credentials.
 */
export const iacCommands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const { io } = ctx;
  const iac = program.command('iac').description('check infrastructure-as-code (Terraform plans) against security rules, offline');
  // commander's own usage errors (unknown option, bad choice) exit 2 here too, like any bad input
  const usageExit = (cmd: Command) =>
    cmd.exitOverride((err) => {
      throw err.exitCode === 0 ? err : Object.assign(err, { exitCode: USAGE });
    });
  usageExit(iac);

  /** The options that choose the rules, shared by `check` and `rules`. */
  const withRuleOptions = (cmd: Command) =>
    cmd
      .option('--rules <path>', 'a rule file (.yaml, .yml, .json) or a directory of .yaml rule files; repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .option('--no-builtin', 'leave out the built-in rules');

  const check = withRuleOptions(
    iac
      .command('check <plan>')
      .description('check a plan (`terraform show -json plan.out > plan.json`; `-` reads stdin); exit 0 clean, 1 violations at/above --fail-on, 2 bad input or a rule that could not be evaluated'),
  )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'sarif']).default('table'))
    .option('-o, --output <file>', 'write the report to a file (the exit status still says the outcome)')
    .addOption(new Option('--fail-on <severity>', 'lowest severity that fails the check').choices([...SEVERITIES]).default('low'))
    .addOption(new Option('--unknown <policy>', 'how a verdict that depends on values known only after apply counts: fail (like a violation) or warn').choices(['fail', 'warn']).default('fail'))
    .option('--max-plan-mb <n>', 'largest plan read, in MiB', (v) => Number(v), 128)
    .action(async (planPath: string, opts: { rules: string[]; builtin: boolean; format: 'table' | 'json' | 'sarif'; output?: string; failOn: Severity; unknown: UnknownPolicy; maxPlanMb: number }) =>
      usageErrors(ctx, () => {
        if (!Number.isFinite(opts.maxPlanMb) || opts.maxPlanMb <= 0 || opts.maxPlanMb > 4096) throw new Error('--max-plan-mb must be a number of MiB between 1 and 4096');
        const rules = loadAllRules(opts);
        if (rules.length === 0) throw new Error('no rules to check: --no-builtin needs --rules');
        const max = Math.floor(opts.maxPlanMb * 1024 * 1024);
        const text = readBounded(planPath, max);
        const plan = parsePlan(text, { maxLength: max, maxDepth: 256 });
        const report = checkPlan(plan, rules);
        let out: string;
        if (opts.format === 'json') out = JSON.stringify({ ...report, failOn: opts.failOn, unknown: opts.unknown, exitCode: outcome(report, opts.failOn, opts.unknown) }, null, 2) + '\n';
        else if (opts.format === 'sarif') out = JSON.stringify(formatSarif(report, rules, planPath === '-' ? {} : { planUri: uriOf(planPath), planText: text }), null, 2) + '\n';
        else out = formatTable(report, opts.failOn);
        if (opts.output) writeFileSync(opts.output, out);
        else io.out(out);
        process.exitCode = outcome(report, opts.failOn, opts.unknown);
      }),
    );
  usageExit(check);

  const rules = withRuleOptions(iac.command('rules').description('list the rules (built-in and --rules), or --test their fixture plans'))
    .option('--test', 'run each rule on its fixtures: the `violates` plan must violate it, the `passes` plan must pass it')
    .option('--fixtures <dir>', 'directory the built-in rules\' fixtures are relative to (default ./test/fixtures/iac, in Coffer\'s repository; elsewhere only --rules are tested)')
    .option('--json', 'JSON output')
    .action(async (opts: { rules: string[]; builtin: boolean; test?: boolean; fixtures?: string; json?: boolean }) =>
      usageErrors(ctx, () => {
        const all = loadAllRules(opts);
        if (!opts.test) {
          const rows = all.map((r) => ({ id: r.id, severity: r.severity, provider: r.provider, category: r.category, title: r.title, source: r.source }));
          ctx.print(opts.json, rows, () => ctx.table(rows, ['id', 'severity', 'provider', 'category', 'title']));
          return;
        }
        // the built-in rules' fixtures live in Coffer's repository: test them only where they are
        const base = opts.fixtures ?? join(process.cwd(), 'test', 'fixtures', 'iac');
        const results = testRuleFixtures(existsSync(base) ? all : all.filter((r) => r.source !== 'builtin'), base);
        ctx.print(opts.json, results, () =>
          results.map((r) => `${r.status === 'ok' ? 'ok    ' : r.status === 'failed' ? 'FAILED' : 'none  '}  ${r.ruleId}${r.problems.map((p) => `\n        ${p}`).join('')}`).join('\n') + '\n',
        );
        if (results.some((r) => r.status === 'failed')) process.exitCode = 1;
      }),
    );
  usageExit(rules);
};
