/** Runs the Python S3 clients (boto3 scripts in test/s3-clients/, the AWS CLI) against a harness. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { S3Credentials } from '../../src/client/s3-client.js';
import { repoRoot } from '../support/paths.js';

/** The Python interpreter with boto3: the image's `python3`, else the system's (Debian's python3-boto3). */
const PYTHON = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import boto3, botocore'], { encoding: 'utf8' }).status === 0) ?? null;

/** Why the Python clients cannot run here, or null if boto3 and the AWS CLI are available. */
export function pythonClientsMissing(): string | null {
  if (PYTHON === null) return 'no python3 with boto3 (image Python, or `apt-get install python3-boto3`)';
  const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  if (aws.status !== 0) return `the AWS CLI is not available: ${(aws.stderr || aws.error?.message || '').slice(0, 200)}`;
  return null;
}

/** The environment the clients read: endpoint, bucket and temporary credentials (nothing else of ours). */
export function clientEnv(s3Url: string, bucket: string, creds: S3Credentials, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('COFFER_') && !k.startsWith('NODE_')) env[k] = v;
  return {
    ...env,
    S3_URL: s3Url,
    BUCKET: bucket,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_SESSION_TOKEN: creds.sessionToken,
    AWS_DEFAULT_REGION: 'us-east-1',
    // never read the developer's ~/.aws
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...extra,
  };
}

/** Runs a command to completion (bounded); resolves with its exit code and output. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: join(repoRoot(), 'test', 's3-clients'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a script of test/s3-clients and parses the JSON it prints. */
export async function runScript<T>(script: string, env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<T> {
  const r = await run(PYTHON ?? 'python3', [script], env, timeoutMs);
  if (r.code !== 0) throw new Error(`${script} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
