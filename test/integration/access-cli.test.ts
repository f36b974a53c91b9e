/**
 * The issue's "done when" flows through the real `coffer` CLI (its program, in process)
 * against a real server listening on 127.0.0.1 with an injected clock, plus `curl` for
 * the share link: (a) a data scientist gets reader on a restricted model for 2 hours
 * through a request a project owner approves, uses it, and is refused one second after
 * expiry; (b) a break-glass leaves an alert and an open review; (c) a share link stops
 * working the moment it is revoked. With COFFER_ACCESS_TRANSCRIPT=<file> the session is
 * written there as a transcript.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { verifyWebhookSignature } from '../../src/access/webhook.js';
import { FEATURE_COMMANDS } from '../../src/cli/commands.js';
import { runCli } from '../../src/cli/program.js';
import { openAccessHarness } from './access-harness.js';
import type { AccessHarness } from './access-harness.js';

const run = promisify(execFile);
const SECRET = 'cli-transcript-webhook-secret';

void describe('access CLI flows (transcript)', () => {
  let h: AccessHarness;
  let url: string;
  let work: string;
  let hook: Server;
  const alerts: Array<{ type: string; verified: boolean; summary: string }> = [];
  const transcript: string[] = [];
  const tokens: Record<string, string> = {};

  before(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        const verified = verifyWebhookSignature({ secret: SECRET, timestamp: req.headers['x-coffer-timestamp'] as string, signature: req.headers['x-coffer-signature'] as string, body, nowSeconds: Math.floor(h.now() / 1000) });
        alerts.push({ type: String(req.headers['x-coffer-event']), verified, summary: (JSON.parse(body) as { summary: string }).summary });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const port = (hook.address() as { port: number }).port;
    h = await openAccessHarness({ webhookUrl: `http://127.0.0.1:${port}/coffer`, webhookSecret: SECRET }, Date.parse('2030-03-02T09:00:00Z'));
    url = await h.listen();
    work = mkdtempSync(join(tmpdir(), 'coffer-access-cli-'));
    tokens.admin = h.adminToken;
  });
  after(async () => {
    await h.close();
    hook.closeAllConnections();
    await new Promise((resolve) => hook.close(resolve));
    rmSync(work, { recursive: true, force: true });
    const file = process.env.COFFER_ACCESS_TRANSCRIPT;
    if (file) writeFileSync(file, transcript.join(''));
  });

  /** Runs `coffer ARGS` as `who`; records it in the transcript. */
  const coffer = async (who: string, args: string[], expectCode = 0): Promise<{ out: string; err: string }> => {
    let out = '';
    let err = '';
    const io = { out: (s: string) => (out += s), err: (s: string) => (err += s), env: { COFFER_URL: url, COFFER_TOKEN: tokens[who]!, COFFER_CREDENTIALS_FILE: join(work, 'none.json') }, isTTY: false };
    // runCli reports process.exitCode: start clean and leave the runner's own code as it was
    const saved = process.exitCode;
    process.exitCode = undefined;
    const code = await runCli(args, io, () => Promise.reject(new Error('no server here')), FEATURE_COMMANDS);
    process.exitCode = saved;
    const shown = args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
    transcript.push(`[${who}]$ coffer ${shown}\n${out}${err}${code !== 0 ? `(exit ${code})\n` : ''}\n`);
    assert.equal(code, expectCode, `coffer ${shown}\n${out}${err}`);
    return { out, err };
  };
  const note = (text: string) => transcript.push(`# ${text}\n\n`);
  const curl = async (link: string): Promise<string> => {
    const shown = link.replace(/(coffer_share_)[0-9A-Za-z]+/, '$1…');
    const r = await run('curl', ['-sS', '-o', join(work, 'report.out'), '-w', '%{http_code}', link]).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
    const body = r.stdout === '200' ? '' : ` ${readFileSync(join(work, 'report.out'), 'utf8')}`;
    transcript.push(`$ curl -sS -o report.out -w '%{http_code}' ${shown}\n${r.stdout}${body}\n\n`);
    return r.stdout;
  };

  void it('(a) reader on a restricted model for 2 hours, approved by a project owner, refused one second after expiry', async () => {
    note(`server ${url}, clock ${new Date(h.now()).toISOString()}`);
    await coffer('admin', ['user', 'create', 'olivia', '--display-name', 'Olivia (vision project owner)']);
    await coffer('admin', ['user', 'create', 'dana', '--display-name', 'Dana (data scientist)']);
    tokens.olivia = await h.token('olivia');
    tokens.dana = await h.token('dana');
    await coffer('admin', ['project', 'create', 'vision']);
    await coffer('admin', ['grant', 'olivia', 'owner', 'vision']);
    await coffer('olivia', ['artifact', 'create', 'vision/models/resnet', '--tier', 'restricted', '--kind', 'model']);
    writeFileSync(join(work, 'resnet.onnx'), randomBytes(150_000));
    await coffer('olivia', ['push', 'vision/models/resnet', join(work, 'resnet.onnx'), '--no-progress']);

    await coffer('dana', ['pull', 'vision/models/resnet@1', '-o', join(work, 'dana.onnx'), '--no-progress'], 1);
    const tooLong = await coffer('dana', ['access', 'request', 'vision/models/resnet', '--role', 'reader', '--for', '8d', '--reason', 'retrain on the new labels'], 1);
    assert.match(tooLong.err, /COFFER_ACCESS_DURATION_INVALID: duration of 8d exceeds the maximum of 7d for role `reader`/);
    const asked = await coffer('dana', ['access', 'request', 'vision/models/resnet', '--role', 'reader', '--for', '2h', '--reason', 'retrain the detector on the new labels', '--ticket', 'DS-42']);
    const id = /access request (req_\w+) is pending/.exec(asked.out)![1]!;
    const self = await coffer('dana', ['access', 'approve', id], 1);
    assert.match(self.err, /COFFER_ACCESS_SELF_APPROVAL/);
    const queue = await coffer('olivia', ['access', 'list', '--pending']);
    assert.match(queue.out, new RegExp(id));
    h.advance(7 * 60_000);
    note(`clock ${new Date(h.now()).toISOString()}: olivia approves`);
    const approvedAt = h.now();
    const ok = await coffer('olivia', ['access', 'approve', id, '--comment', 'ok for DS-42']);
    assert.match(ok.out, new RegExp(`dana has reader on vision/models/resnet until ${new Date(approvedAt + 7200_000).toISOString()}`));
    await coffer('dana', ['pull', 'vision/models/resnet@1', '-o', join(work, 'dana.onnx'), '--no-progress']);
    h.setNow(approvedAt + 7200_000 - 1000);
    note(`clock ${new Date(h.now()).toISOString()} (one second before expiry)`);
    await coffer('dana', ['pull', 'vision/models/resnet@1', '-o', join(work, 'dana2.onnx'), '--no-progress']);
    h.setNow(approvedAt + 7200_000 + 1000);
    note(`clock ${new Date(h.now()).toISOString()} (one second after expiry)`);
    const refused = await coffer('dana', ['pull', 'vision/models/resnet@1', '-o', join(work, 'dana3.onnx'), '--no-progress'], 1);
    assert.match(refused.err, /COFFER_NOT_FOUND/);
    const shown = await coffer('dana', ['access', 'show', id]);
    assert.match(shown.out, /\(ended\)/);
    await h.runtime.access.service.sweepExpired();
  });

  void it('(b) a break-glass leaves an alert and an open review', async () => {
    const stale = await coffer('admin', ['breakglass', 'vision/models/resnet', '--for', '30m', '--reason', 'INC-7: prod model returns NaN, need the weights'], 1);
    assert.match(stale.err, /COFFER_AUTH_STEP_UP_REQUIRED/);
    // a token minted now is no fresher than what minted it (credential lineage): still refused
    const minted = await coffer('admin', ['token', 'create', '--ttl', '900', '--description', 'break-glass INC-7']);
    tokens['admin (minted token)'] = minted.out.trim();
    const still = await coffer('admin (minted token)', ['breakglass', 'vision/models/resnet', '--for', '30m', '--reason', 'INC-7: prod model returns NaN, need the weights'], 1);
    assert.match(still.err, /COFFER_AUTH_STEP_UP_REQUIRED/);
    note('admin logs in with a password and confirms with the security key (`coffer login --user admin`, `coffer step-up`)');
    tokens['admin (security key)'] = await h.steppedUp('admin');
    const broke = await coffer('admin (security key)', ['breakglass', 'vision/models/resnet', '--role', 'reader', '--for', '30m', '--reason', 'INC-7: prod model returns NaN, need the weights', '--ticket', 'INC-7']);
    assert.match(broke.out, /alert: sent/);
    const id = /BREAK-GLASS (req_\w+)/.exec(broke.out)![1]!;
    await coffer('admin (security key)', ['pull', 'vision/models/resnet@1', '-o', join(work, 'incident.onnx'), '--no-progress']);
    const open = await coffer('olivia', ['breakglass', 'review', 'list']);
    assert.match(open.out, new RegExp(`${id}\\s+open`));
    await coffer('admin (security key)', ['breakglass', 'review', 'signoff', id, '--note', 'self'], 1);
    // the alert was delivered before the break-glass answered
    const alert = alerts.find((a) => a.type === 'breakglass.activated');
    assert.ok(alert?.verified);
    note(`webhook receiver got: ${JSON.stringify(alerts.filter((a) => a.type === 'breakglass.activated'))}`);
  });

  void it('(c) a share link stops working the moment it is revoked', async () => {
    await coffer('olivia', ['artifact', 'create', 'vision/eval/report', '--tier', 'internal', '--kind', 'evaluation']);
    writeFileSync(join(work, 'report.pdf'), randomBytes(20_000));
    await coffer('olivia', ['push', 'vision/eval/report', join(work, 'report.pdf'), '--no-progress']);
    const created = await coffer('olivia', ['share', 'create', 'vision/eval/report@1', '--ttl', '24h', '--max-downloads', '10']);
    const link = created.out.trim();
    assert.match(link, /\/v1\/share\/coffer_share_/);
    assert.equal(await curl(link), '200');
    const listed = await coffer('olivia', ['share', 'list']);
    const id = /(shl_\w+)/.exec(listed.out)![1]!;
    await coffer('olivia', ['share', 'revoke', id]);
    assert.equal(await curl(link), '410');
    await coffer('olivia', ['share', 'list']);
  });
});
