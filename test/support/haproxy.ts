import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** The `skip` option of a test that needs HAProxy: a reason on a machine without it, never in CI. */
export function haproxySkip(): string | false {
  if (inCi) return false;
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0 ? false : 'skipped: haproxy is not installed (apt-get install haproxy)';
}

/** deploy/haproxy.cfg with one `server` line per node in place of `# @nodes@`. */
export function renderHaproxyConfig(nodes: Array<{ name: string; address: string }>): string {
  const template = readFileSync(join(repoRoot(), 'deploy', 'haproxy.cfg'), 'utf8');
  const placeholder = /^[ \t]*# @nodes@[ \t]*$/m;
  if (!placeholder.test(template)) throw new Error('deploy/haproxy.cfg has no `# @nodes@` line');
  return template.replace(placeholder, nodes.map((n) => `    server ${n.name} ${n.address} check`).join('\n'));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A running HAProxy on 127.0.0.1 from deploy/haproxy.cfg. */
export interface Haproxy {
  url: string;
  /** One command on the admin socket (`show stat`, `set server coffer_nodes/node1 state drain`...). */
  admin(command: string): Promise<string>;
  /** Per server of the backend: status (UP, DOWN, DRAIN...) and sessions so far. */
  servers(): Promise<Map<string, { status: string; total: number }>>;
  stop(): Promise<void>;
}

/** Starts HAProxy (foreground, `-db`) in front of `nodes`; its files go to `dir`. */
export async function startHaproxy(dir: string, nodes: Array<{ name: string; address: string }>): Promise<Haproxy> {
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, renderHaproxyConfig(nodes));
  const port = await freePort();
  const socket = join(dir, 'haproxy-admin.sock');
  const env = { ...process.env, COFFER_LB_BIND: `127.0.0.1:${port}`, COFFER_LB_ADMIN: socket };
  const check = spawnSync('haproxy', ['-c', '-f', cfg], { env, encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c refused the config: ${check.stdout}${check.stderr}`);
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', cfg], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const admin = (command: string) =>
    new Promise<string>((resolve, reject) => {
      const c = createConnection(socket);
      let out = '';
      c.setEncoding('utf8').on('data', (s: string) => (out += s));
      c.once('error', reject);
      c.once('end', () => resolve(out));
      c.write(`${command}\n`);
    });
  const servers = async () => {
    const out = new Map<string, { status: string; total: number }>();
    const lines = (await admin('show stat')).split('\n');
    const head = lines[0]!.replace(/^# /, '').split(',');
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      const row = Object.fromEntries(head.map((h, i) => [h, cells[i] ?? '']));
      if (row.pxname === 'coffer_nodes' && row.svname !== 'BACKEND') out.set(row.svname!, { status: row.status!, total: Number(row.stot) });
    }
    return out;
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
    if (await admin('show info').then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    admin,
    servers,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
