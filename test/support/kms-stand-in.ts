import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for AWS KMS, for tests only (no KMS is reachable from CI). It speaks
 * the real wire protocol (AWS JSON 1.1: `POST /`, `X-Amz-Target: TrentService.<Op>`,
 * base64 blobs, `__type` errors) and checks every request's SigV4 signature against its
 * one access key, so the real @aws-sdk/client-kms talks to it unchanged, credentials and
 * all. It implements what Coffer uses: Encrypt, Decrypt (and GenerateDataKey, DescribeKey).
 *
 * Its ciphertext blob is its own (as real KMS's is opaque): version | key id | nonce |
 * AES-256-GCM(plaintext) with the encryption context as associated data, so a blob only
 * decrypts under its key and with its context, as with KMS.
 */
export class KmsStandIn {
  readonly accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  readonly secretAccessKey = randomBytes(20).toString('base64');
  readonly region = 'eu-west-1';
  readonly account = '111122223333';
  /** Requests answered, by operation (failures included). */
  readonly calls = new Map<string, number>();
  readonly #keys = new Map<string, { material: Buffer; enabled: boolean }>();
  readonly #aliases = new Map<string, string>();
  #server: Server | null = null;
  #url = '';

  /** Starts listening on 127.0.0.1 (a free port). */
  static async start(): Promise<KmsStandIn> {
    const kms = new KmsStandIn();
    const server = createServer((req, res) => void kms.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kms.#server = server;
    kms.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return kms;
  }

  get endpoint(): string {
    return this.#url;
  }

  /** Creates a symmetric key; returns its id and ARN (and makes `alias` point at it). */
  createKey(alias?: string): { keyId: string; arn: string } {
    const keyId = randomUUID();
    this.#keys.set(keyId, { material: randomBytes(32), enabled: true });
    if (alias !== undefined) this.#aliases.set(`alias/${alias}`, keyId);
    return { keyId, arn: this.arnOf(keyId) };
  }

  arnOf(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.account}:key/${keyId}`;
  }

  /** Disables or enables a key (KMS answers DisabledException for a disabled key). */
  setEnabled(keyId: string, enabled: boolean): void {
    const key = this.#keys.get(keyId);
    if (key) key.enabled = enabled;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 1024 * 1024) return this.#fail(res, 413, 'ValidationException', 'request too large');
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    if (req.method !== 'POST' || req.url !== '/' || !String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
      return this.#fail(res, 400, 'UnknownOperationException', 'not an AWS JSON 1.1 request');
    }
    const auth = this.#checkSignature(req, body);
    if (auth !== null) return this.#fail(res, 400, auth.type, auth.message);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.#fail(res, 400, 'SerializationException', 'body is not JSON');
    }
    try {
      switch (op) {
        case 'Encrypt':
          return this.#ok(res, this.#encrypt(input));
        case 'Decrypt':
          return this.#ok(res, this.#decrypt(input));
        case 'GenerateDataKey': {
          const plaintext = randomBytes(Number(input.NumberOfBytes ?? 32));
          const encrypted = this.#encrypt({ ...input, Plaintext: plaintext.toString('base64') });
          return this.#ok(res, { ...encrypted, Plaintext: plaintext.toString('base64') });
        }
        case 'DescribeKey': {
          const keyId = this.#resolve(input.KeyId);
          return this.#ok(res, { KeyMetadata: { KeyId: keyId, Arn: this.arnOf(keyId), Enabled: this.#keys.get(keyId)!.enabled, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' } });
        }
        default:
          return this.#fail(res, 400, 'UnknownOperationException', `unknown operation ${op}`);
      }
    } catch (err) {
      if (err instanceof KmsFault) return this.#fail(res, 400, err.type, err.message);
      return this.#fail(res, 500, 'KMSInternalException', 'internal error');
    }
  }

  #encrypt(input: Record<string, unknown>): Record<string, unknown> {
    const keyId = this.#usable(input.KeyId);
    const plaintext = base64Field(input.Plaintext, 'Plaintext');
    if (plaintext.length === 0 || plaintext.length > 4096) throw new KmsFault('ValidationException', 'Plaintext must be 1-4096 bytes');
    const iv = randomBytes(12);
    const id = Buffer.from(keyId, 'ascii');
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(keyId)!.material, iv);
    cipher.setAAD(contextBytes(input.EncryptionContext));
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const blob = Buffer.concat([Buffer.of(1, id.length), id, iv, sealed]);
    return { CiphertextBlob: blob.toString('base64'), KeyId: this.arnOf(keyId), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  #decrypt(input: Record<string, unknown>): Record<string, unknown> {
    const blob = base64Field(input.CiphertextBlob, 'CiphertextBlob');
    if (blob.length < 2 + 1 + 12 + 16 || blob[0] !== 1) throw new KmsFault('InvalidCiphertextException', 'ciphertext is not valid');
    const idLength = blob[1]!;
    const keyId = blob.subarray(2, 2 + idLength).toString('ascii');
    if (!this.#keys.has(keyId)) throw new KmsFault('InvalidCiphertextException', 'ciphertext is not valid');
    if (input.KeyId !== undefined && this.#resolve(input.KeyId) !== keyId) throw new KmsFault('IncorrectKeyException', 'the key ID in the request does not identify the key that encrypted the ciphertext');
    this.#usable(keyId);
    const iv = blob.subarray(2 + idLength, 14 + idLength);
    const sealed = blob.subarray(14 + idLength);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#keys.get(keyId)!.material, iv);
      decipher.setAAD(contextBytes(input.EncryptionContext));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plaintext = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
      return { Plaintext: plaintext.toString('base64'), KeyId: this.arnOf(keyId), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      throw new KmsFault('InvalidCiphertextException', 'ciphertext is not valid');
    }
  }

  /** A key id, ARN or alias to a key id; unknown: NotFoundException. */
  #resolve(ref: unknown): string {
    if (typeof ref !== 'string' || ref === '') throw new KmsFault('ValidationException', 'KeyId is required');
    const aliased = ref.startsWith('alias/') ? this.#aliases.get(ref) : undefined;
    const id = aliased ?? (ref.startsWith('arn:') ? (/:key\/([0-9a-f-]+)$/.exec(ref)?.[1] ?? '') : ref);
    if (!this.#keys.has(id) || (ref.startsWith('arn:') && ref !== this.arnOf(id))) throw new KmsFault('NotFoundException', `key '${ref}' does not exist`);
    return id;
  }

  #usable(ref: unknown): string {
    const id = this.#resolve(ref);
    if (!this.#keys.get(id)!.enabled) throw new KmsFault('DisabledException', `${this.arnOf(id)} is disabled`);
    return id;
  }

  /**
   * Checks SigV4 as AWS does (written here from the published algorithm, independently of
   * the SDK's signer): the access key, the scope, the signature over the signed headers
   * and the body hash. Returns the error to answer, or null.
   */
  #checkSignature(req: IncomingMessage, body: Buffer): { type: string; message: string } | null {
    const header = String(req.headers.authorization ?? '');
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/kms\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(header);
    if (m === null) return { type: 'IncompleteSignatureException', message: 'missing or malformed authorization' };
    const [, accessKeyId, day, region, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string];
    if (accessKeyId !== this.accessKeyId) return { type: 'UnrecognizedClientException', message: 'the security token included in the request is invalid' };
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(day)) return { type: 'IncompleteSignatureException', message: 'date mismatch' };
    const names = signedHeaders.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date')) return { type: 'IncompleteSignatureException', message: 'host and x-amz-date must be signed' };
    const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const canonical = ['POST', '/', '', canonicalHeaders, signedHeaders, bodyHash].join('\n');
    const scope = `${day}/${region}/kms/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    let key = createHmac('sha256', `AWS4${this.secretAccessKey}`).update(day).digest();
    for (const part of [region, 'kms', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    const expected = createHmac('sha256', key).update(toSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { type: 'InvalidSignatureException', message: 'the request signature does not match' };
    return null;
  }

  #ok(res: ServerResponse, output: Record<string, unknown>): void {
    const body = JSON.stringify(output);
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': randomUUID() });
    res.end(body);
  }

  #fail(res: ServerResponse, status: number, type: string, message: string): void {
    const body = JSON.stringify({ __type: type, message });
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': randomUUID() });
    res.end(body);
  }
}

class KmsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function base64Field(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new KmsFault('ValidationException', `${name} must be base64`);
  return Buffer.from(value, 'base64');
}

/** The encryption context as associated data: its pairs sorted by key, as JSON. */
function contextBytes(context: unknown): Buffer {
  if (context === undefined || context === null) return Buffer.alloc(0);
  if (typeof context !== 'object') throw new KmsFault('ValidationException', 'EncryptionContext must be a map');
  const pairs = Object.entries(context as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(pairs), 'utf8');
}
