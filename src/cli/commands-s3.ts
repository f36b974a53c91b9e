import type { Command } from 'commander';
import { Option } from 'commander';
import { S3CredentialsClient } from '../client/s3-client.js';
import { parseDurationArg } from './commands-access.js';
import { loadCredentials } from './credentials.js';
import type { CliContext, CommandRegistrar } from './program.js';

/** Shell-quotes a value for `export NAME='value'`. */
function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `coffer s3 ...`: temporary credentials for S3 clients (boto3, the AWS CLI, the AWS
 * SDKs, MLflow, DVC) pointed at Coffer's S3 endpoint.
 */
export const s3Commands: CommandRegistrar = (program: Command, ctx: CliContext) => {
  const client = () => {
    const creds = loadCredentials(ctx.io.env, program.opts<{ server?: string }>().server);
    return new S3CredentialsClient({ baseUrl: creds.server, token: creds.token, userAgent: 'coffer-cli/0.1.0' });
  };
  const s3 = program.command('s3').description("credentials for S3 clients of Coffer's S3-compatible endpoint");
  s3.command('credentials')
    .description('issue temporary S3 credentials bound to you (access key id, secret, session token; at most 1 hour)')
    .option('--ttl <duration>', 'lifetime (1m to 1h)', '1h')
    .option('--description <text>')
    .option('--endpoint <url>', "the S3 endpoint to print as AWS_ENDPOINT_URL (e.g. http://127.0.0.1:7072)")
    .addOption(new Option('--format <format>', 'env: shell exports; json; process: AWS credential_process output').choices(['env', 'json', 'process']).default('env'))
    .action(async (opts: { ttl: string; description?: string; endpoint?: string; format: 'env' | 'json' | 'process' }) => {
      const c = await client().issue({ ttlSeconds: parseDurationArg(opts.ttl), ...(opts.description ? { description: opts.description } : {}) });
      if (opts.format === 'json') {
        ctx.io.out(JSON.stringify({ ...c, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) }, null, 2) + '\n');
      } else if (opts.format === 'process') {
        ctx.io.out(JSON.stringify({ Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration }) + '\n');
      } else {
        const lines = [
          `export AWS_ACCESS_KEY_ID=${quote(c.accessKeyId)}`,
          `export AWS_SECRET_ACCESS_KEY=${quote(c.secretAccessKey)}`,
          `export AWS_SESSION_TOKEN=${quote(c.sessionToken)}`,
          `export AWS_DEFAULT_REGION=${quote(c.region)}`,
          ...(opts.endpoint ? [`export AWS_ENDPOINT_URL=${quote(opts.endpoint)}`] : []),
        ];
        ctx.io.out(lines.join('\n') + '\n');
        ctx.io.err(`# s3 credentials ${c.accessKeyId} expire ${c.expiration}; the secret is shown only once\n`);
      }
    });
  s3.command('list')
    .description('your S3 credentials (no secrets)')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const items = await client().list();
      ctx.print(opts.json, items, () => ctx.table(items, ['accessKeyId', 'description', 'createdAt', 'expiresAt', 'revokedAt']));
    });
  s3.command('revoke <accessKeyId>')
    .description('revoke S3 credentials at once (also revoked with the API token they came from)')
    .action(async (accessKeyId: string) => {
      await client().revoke(accessKeyId);
      ctx.io.out(`s3 credentials ${accessKeyId} revoked\n`);
    });
};
