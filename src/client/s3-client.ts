import { callApi } from './coffer-client.js';

/** Temporary S3 credentials as the server issues them (secret and session token shown once). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO date. */
  expiration: string;
  region: string;
}

/** An S3 credential as listed (no secret). */
export interface S3CredentialInfo {
  accessKeyId: string;
  description: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** Client of `/v1/s3/credentials` (the CLI's `coffer s3 credentials`). */
export class S3CredentialsClient {
  constructor(private readonly options: { baseUrl: string; token?: string | undefined; userAgent?: string }) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return callApi<T>(this.options, method, path, { body });
  }


  /** Issues temporary credentials for the caller (at most one hour). */
  issue(input: { ttlSeconds?: number; description?: string } = {}): Promise<S3Credentials> {
    return this.call<S3Credentials>('POST', '/v1/s3/credentials', input);
  }

  /** The caller's credentials (no secrets). */
  async list(): Promise<S3CredentialInfo[]> {
    return (await this.call<{ items: S3CredentialInfo[] }>('GET', '/v1/s3/credentials')).items;
  }

  revoke(accessKeyId: string): Promise<void> {
    return this.call<void>('DELETE', `/v1/s3/credentials/${encodeURIComponent(accessKeyId)}`);
  }
}
