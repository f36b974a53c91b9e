import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createReadStream, lstatSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { findSecrets } from './secret-patterns.js';
import type { SecretKind } from './secret-patterns.js';

/** A secret found in a file, a commit or a staged change. */
export interface Leak {
  kind: SecretKind;
  /** Non-secret prefix, safe to print. */
  redacted: string;
  /**
   * The secret, for revocation only.
   * INVARIANT: never printed, logged or serialized (reports use {@link Leak.redacted}).
   */
  secret: string;
  /** The commit that added the line (full id), or null for the working tree and the index. */
  commit: string | null;
  path: string;
  /** 1-based line number in the file (as of `commit` for history). */
  line: number;
  /** `worktree`, `history` or `staged`. */
  source: 'worktree' | 'history' | 'staged';
}

/** Limits and knobs of a scan. */
export interface ScanOptions {
  /** Files and blobs larger than this are skipped (counted in {@link ScanStats.skippedLarge}). */
  maxBlobBytes: number;
}

/** What a scan looked at. */
export interface ScanStats {
  files: number;
  blobs: number;
  skippedLarge: number;
  skippedBinary: number;
}

const DEFAULT_OPTIONS: ScanOptions = { maxBlobBytes: 10 * 1024 * 1024 };
const SKIP_DIRS = new Set(['.git', 'node_modules']);

/**
 * Git, run on a repository that may not be trustworthy: no pager, no fsmonitor hook, no
 * external diff or textconv drivers, so scanning a repository cannot run its configured
 * commands.
 */
function git(repo: string, args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn('git', ['-C', repo, '--no-pager', '-c', 'core.fsmonitor=false', '-c', 'core.quotePath=false', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GIT_PAGER: 'cat', GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' },
  });
  // a git that exits early makes writes fail (EPIPE): its exit status reports the failure
  child.stdin.on('error', () => undefined);
  return child;
}

/** Waits for a git process; rejects with its stderr when it fails. */
function finished(child: ChildProcessWithoutNullStreams, what: string): Promise<void> {
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run git (${what}): ${err.message}`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`git ${what} failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`))));
  });
}

/** True when `dir` is inside a git work tree. */
export async function isGitRepository(dir: string): Promise<boolean> {
  const child = git(dir, ['rev-parse', '--is-inside-work-tree']);
  child.stdin.end();
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  try {
    await finished(child, 'rev-parse');
    return out.trim() === 'true';
  } catch {
    return false;
  }
}

function looksBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

/** Every secret of a text buffer, with 1-based line numbers. */
function scanBuffer(buf: Buffer, at: (line: number, m: ReturnType<typeof findSecrets>[number]) => void): void {
  // latin1 keeps one character per byte: secrets are ASCII, and no byte is replaced
  const text = buf.toString('latin1');
  let line = 1;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const content = text.slice(start, nl === -1 ? text.length : nl);
    for (const m of findSecrets(content)) at(line, m);
    if (nl === -1) break;
    start = nl + 1;
    line++;
  }
}

/** Scans the files under `root` (or the file `root`), skipping `.git` and `node_modules`. */
export async function scanFiles(root: string, options: Partial<ScanOptions> = {}, stats?: ScanStats): Promise<Leak[]> {
  const opts = { ...DEFAULT_OPTIONS, ...options };
  const out: Leak[] = [];
  const rootIsFile = statSync(root).isFile();
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort().reverse()) if (!SKIP_DIRS.has(name)) stack.push(join(p, name));
      continue;
    }
    if (!st.isFile()) continue;
    if (stats) stats.files++;
    if (st.size > opts.maxBlobBytes) {
      if (stats) stats.skippedLarge++;
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(p)) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    if (looksBinary(buf)) {
      if (stats) stats.skippedBinary++;
      continue;
    }
    const path = rootIsFile ? p : relative(root, p);
    scanBuffer(buf, (line, m) => out.push({ kind: m.kind, redacted: m.redacted, secret: m.secret, commit: null, path, line, source: 'worktree' }));
  }
  return out;
}

/** A finding in a blob, before we know which commits added the blob. */
interface BlobHit {
  line: number;
  kind: SecretKind;
  redacted: string;
  secret: string;
}

/**
 * Streams every blob reachable from every ref (and the reflogs) through the patterns:
 * `git rev-list --all --reflog --objects` names each blob once, `git cat-file --batch`
 * streams their contents. Memory stays bounded by the largest blob scanned
 * ({@link ScanOptions.maxBlobBytes}) plus the findings. Then one pass of
 * `git log --raw` finds the commits (and paths) that added each blob with a finding.
 */
export async function scanGitHistory(repo: string, options: Partial<ScanOptions> = {}, stats?: ScanStats): Promise<Leak[]> {
  const opts = { ...DEFAULT_OPTIONS, ...options };
  const hits = new Map<string, { path: string; hits: BlobHit[] }>();

  const revList = git(repo, ['rev-list', '--all', '--reflog', '--objects', '--filter=object:type=blob', '--filter-provided-objects']);
  const catFile = git(repo, ['cat-file', '--batch']);
  revList.stdin.end();
  const revDone = finished(revList, 'rev-list');
  const catDone = finished(catFile, 'cat-file');

  // rev-list -> cat-file, with backpressure; the paths wait in order for their blobs
  const pending: { sha: string; path: string }[] = [];
  const feeding = (async () => {
    const rl = createInterface({ input: revList.stdout, crlfDelay: Infinity });
    for await (const line of rl) {
      const m = /^([0-9a-f]{40}|[0-9a-f]{64})(?: (.*))?$/.exec(line);
      if (!m || m[2] === undefined) continue;
      pending.push({ sha: m[1]!, path: m[2] });
      if (!catFile.stdin.write(`${m[1]}\n`)) await new Promise((r) => catFile.stdin.once('drain', r));
    }
    catFile.stdin.end();
  })();

  // cat-file --batch output: "<sha> <type> <size>\n<content>\n" per object
  const reading = new Promise<void>((resolve, reject) => {
    let header = '';
    let need = -1; // bytes of content (+1 newline) still to read; -1 while reading a header
    let keep = false;
    let parts: Buffer[] = [];
    let current: { sha: string; path: string } | undefined;
    const finishBlob = () => {
      if (keep && current) {
        const buf = Buffer.concat(parts);
        if (looksBinary(buf)) {
          if (stats) stats.skippedBinary++;
        } else {
          const found: BlobHit[] = [];
          scanBuffer(buf, (line, m) => found.push({ line, kind: m.kind, redacted: m.redacted, secret: m.secret }));
          if (found.length > 0) hits.set(current.sha, { path: current.path, hits: found });
        }
      }
      parts = [];
    };
    catFile.stdout.on('data', (chunk: Buffer) => {
      let i = 0;
      while (i < chunk.length) {
        if (need < 0) {
          const nl = chunk.indexOf(0x0a, i);
          if (nl === -1) {
            header += chunk.toString('latin1', i);
            if (header.length > 1024) return reject(new Error('git cat-file: malformed output'));
            return;
          }
          header += chunk.toString('latin1', i, nl);
          i = nl + 1;
          current = pending.shift();
          const h = /^(\S+) (\S+) ([0-9]+)$/.exec(header);
          header = '';
          if (!h) continue; // "<sha> missing": nothing follows
          const size = Number(h[3]);
          if (stats) stats.blobs++;
          keep = h[2] === 'blob' && size <= opts.maxBlobBytes;
          if (h[2] === 'blob' && !keep && stats) stats.skippedLarge++;
          need = size + 1;
          continue;
        }
        const take = Math.min(need, chunk.length - i);
        // the trailing newline is not content
        if (keep) parts.push(chunk.subarray(i, i + Math.min(take, need - 1)));
        need -= take;
        i += take;
        if (need === 0) {
          finishBlob();
          need = -1;
        }
      }
    });
    catFile.stdout.once('end', () => resolve());
    catFile.stdout.once('error', reject);
  });

  await Promise.all([feeding, reading, revDone, catDone]);
  return attribute(repo, hits);
}

/** Git's C-style quoting of unusual paths, undone. */
function unquote(path: string): string {
  if (!path.startsWith('"') || !path.endsWith('"')) return path;
  const bytes: number[] = [];
  const s = path.slice(1, -1);
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = s[++i];
    if (n !== undefined && /[0-7]/.test(n)) {
      bytes.push(parseInt(s.slice(i, i + 3), 8));
      i += 2;
    } else bytes.push(({ n: 10, t: 9, r: 13, '"': 34, '\\': 92, a: 7, b: 8, f: 12, v: 11 } as Record<string, number>)[n ?? ''] ?? 0);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Finds, in one pass over the history, the commits and paths that added each flagged blob. */
async function attribute(repo: string, hits: Map<string, { path: string; hits: BlobHit[] }>): Promise<Leak[]> {
  if (hits.size === 0) return [];
  const added = new Map<string, { commit: string; path: string }[]>();
  const log = git(repo, ['log', '--all', '--reflog', '--raw', '--no-abbrev', '--no-renames', '--no-ext-diff', '--no-textconv', '--format=commit %H']);
  log.stdin.end();
  const done = finished(log, 'log');
  let commit = '';
  for await (const line of createInterface({ input: log.stdout, crlfDelay: Infinity })) {
    if (line.startsWith('commit ')) {
      commit = line.slice(7).trim();
      continue;
    }
    // ":100644 100644 <src> <dst> M\t<path>"
    const m = /^:[0-7]+ [0-7]+ [0-9a-f]+ ([0-9a-f]+) [A-Z][0-9]*\t(.*)$/.exec(line);
    if (!m || !hits.has(m[1]!)) continue;
    const list = added.get(m[1]!) ?? [];
    list.push({ commit, path: unquote(m[2]!) });
    added.set(m[1]!, list);
  }
  await done;
  const out: Leak[] = [];
  const seen = new Set<string>();
  for (const [sha, { path, hits: found }] of hits) {
    // git log lists newest first: the last entry of a path is the commit that first added the blob there
    const places = new Map<string, string | null>();
    for (const a of added.get(sha) ?? []) places.set(a.path, a.commit);
    // a blob only a merge introduced has no raw diff line: report it where rev-list saw it
    if (places.size === 0) places.set(path, null);
    for (const [p, c] of places) {
      for (const h of found) {
        const key = `${c} ${p} ${h.line} ${h.kind} ${h.redacted}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ kind: h.kind, redacted: h.redacted, secret: h.secret, commit: c, path: p, line: h.line, source: 'history' });
      }
    }
  }
  return out;
}

/**
 * Scans what is staged for the next commit: the added lines of `git diff --cached`
 * (for a pre-commit hook). Line numbers are those of the staged file.
 */
export async function scanStaged(repo: string): Promise<Leak[]> {
  const diff = git(repo, ['diff', '--cached', '--no-color', '--no-ext-diff', '--no-textconv', '-U0', '--diff-filter=ACMR']);
  diff.stdin.end();
  const done = finished(diff, 'diff --cached');
  const out: Leak[] = [];
  let path = '';
  let line = 0;
  for await (const text of createInterface({ input: diff.stdout, crlfDelay: Infinity })) {
    if (text.startsWith('+++ ')) {
      const p = text.slice(4);
      path = p === '/dev/null' ? '' : unquote(p).replace(/^b\//, '');
      continue;
    }
    const hunk = /^@@ -[0-9,]+ \+([0-9]+)(?:,[0-9]+)? @@/.exec(text);
    if (hunk) {
      line = Number(hunk[1]);
      continue;
    }
    if (text.startsWith('+') && path !== '') {
      for (const m of findSecrets(text.slice(1))) out.push({ kind: m.kind, redacted: m.redacted, secret: m.secret, commit: null, path, line, source: 'staged' });
      line++;
    }
  }
  await done;
  return out;
}
