import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Server URL and token the CLI uses, from the environment or the login cache. */
export interface Credentials {
  server: string;
  token: string | undefined;
}

/** The login cache file: `$COFFER_CREDENTIALS_FILE` or `~/.config/coffer/credentials.json` (0600). */
export function credentialsPath(env: NodeJS.ProcessEnv): string {
  return env.COFFER_CREDENTIALS_FILE ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'coffer', 'credentials.json');
}

/** `COFFER_URL`/`COFFER_TOKEN` win over the cache; `--server` wins over both for the URL. */
export function loadCredentials(env: NodeJS.ProcessEnv, serverFlag?: string): Credentials {
  let cached: { server?: string; token?: string } = {};
  try {
    cached = JSON.parse(readFileSync(credentialsPath(env), 'utf8')) as typeof cached;
  } catch {
    // no cache yet
  }
  return {
    server: serverFlag ?? env.COFFER_URL ?? cached.server ?? 'http://127.0.0.1:7070',
    token: env.COFFER_TOKEN ?? cached.token,
  };
}

/** Writes the cache with mode 0600 (the token is a secret). */
export function saveCredentials(env: NodeJS.ProcessEnv, creds: { server: string; token: string }): string {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file: force it
  chmodSync(path, 0o600);
  return path;
}

export function clearCredentials(env: NodeJS.ProcessEnv): void {
  rmSync(credentialsPath(env), { force: true });
}
