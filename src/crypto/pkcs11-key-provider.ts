import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pkcs11js from 'pkcs11js';
import { KeyringError, ValidationError } from '../domain/errors.js';
import { ROOT_KEY_LENGTH, WRAP_SCHEME, type KeyProvider, type RootKeyRotation } from './key-provider.js';

/** Version byte of the PKCS#11 wrap format. */
const PKCS11_WRAP_VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** CKA_ID of a root key: random, 16 bytes. */
const KEY_ID_LENGTH = 16;
/** A new root key carries this label suffix until its rotation commits. */
const PENDING_SUFFIX = '.pending';

/** How to reach the HSM (config keys `pkcs11*`). */
export interface Pkcs11Settings {
  /** Path of the vendor's PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`). */
  module: string;
  /** Label of the token that holds the root keys. */
  tokenLabel: string;
  /** The user PIN, or null to read it from `pinFile`. */
  pin: string | null;
  pinFile: string | null;
  /** Label of the root key objects (CKA_LABEL); each version has its own random CKA_ID. */
  keyLabel: string;
}

/**
 * A KeyProvider whose root key is an AES-256 key inside an HSM, reached through PKCS#11
 * (pkcs11js): the key is generated in the token as sensitive and non-extractable, and the
 * keyring key is encrypted and decrypted by the HSM (CKM_AES_GCM), so the root key never
 * leaves it. The node holds the PIN (from config or a file), never key material on disk.
 *
 * Rotation generates a new key (label `<keyLabel>.pending`), and on commit relabels it
 * `<keyLabel>` and destroys the previous one. The wrapped keyring key names its root key
 * by CKA_ID, so a keyring opens whichever version made it.
 *
 * Wrapped format: version u8 (1) | id length u8 | CKA_ID | nonce (12) | encrypted key |
 * tag (16); AES-256-GCM in the HSM, associated data = version | id length | CKA_ID | context.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly kind = 'pkcs11';
  readonly scheme = WRAP_SCHEME.pkcs11;
  #session: pkcs11js.Handle | null;

  private constructor(
    private readonly module: LoadedModule,
    session: pkcs11js.Handle,
    private readonly keyLabel: string,
  ) {
    this.#session = session;
  }

  /** Loads the module, finds the token by label, opens a session and logs in. Rejects with KeyringError. */
  static async open(settings: Pkcs11Settings): Promise<Pkcs11KeyProvider> {
    if (settings.keyLabel.length === 0 || settings.keyLabel.length > 64) throw new ValidationError('PKCS#11 key label must be 1-64 characters');
    const pin = settings.pin ?? (settings.pinFile === null ? null : await readPin(settings.pinFile));
    if (pin === null) throw new KeyringError('PKCS#11 user PIN is not set');
    const module = loadModule(settings.module);
    try {
      const slot = call('find token', () =>
        module.lib.C_GetSlotList(true).find((s) => module.lib.C_GetTokenInfo(s).label.trimEnd() === settings.tokenLabel),
      );
      if (slot === undefined) throw new KeyringError(`PKCS#11 token \`${settings.tokenLabel}\` not found`);
      const session = call('open session', () => module.lib.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION));
      try {
        module.lib.C_Login(session, pkcs11js.CKU_USER, pin);
        module.loggedIn.set(settings.tokenLabel, pinDigest(pin));
      } catch (err) {
        // the login state is the application's: another provider of this process may have logged
        // in. INVARIANT: that never lets a wrong PIN through: it must be the PIN that logged in
        const known = module.loggedIn.get(settings.tokenLabel);
        const same = known !== undefined && timingSafeEqual(known, pinDigest(pin));
        if (!(err instanceof pkcs11js.Pkcs11Error && err.code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN && same)) {
          module.lib.C_CloseSession(session);
          throw new KeyringError('PKCS#11 login failed', { detail: err instanceof pkcs11js.Pkcs11Error && err.code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN ? 'C_Login: not the PIN this process logged in with' : describe(err) });
        }
      }
      return new Pkcs11KeyProvider(module, session, settings.keyLabel);
    } catch (err) {
      module.release();
      throw err instanceof KeyringError ? err : new KeyringError('PKCS#11 token could not be opened', { detail: describe(err) });
    }
  }

  async wrapKey(key: Uint8Array, context: Uint8Array): Promise<Buffer> {
    return this.wrapUnder(this.currentKey(), key, context);
  }

  async unwrapKey(wrapped: Uint8Array, context: Uint8Array): Promise<Buffer> {
    const parsed = parseWrapped(wrapped);
    if (parsed === null) throw new KeyringError('keyring could not be opened: its key was not wrapped by a PKCS#11 root key');
    const session = this.session();
    const handle = this.findById(parsed.id);
    if (handle === null) throw new KeyringError('keyring could not be opened: its PKCS#11 root key is not in the token', { detail: `CKA_ID ${parsed.id.toString('hex')}` });
    try {
      this.module.lib.C_DecryptInit(session, gcm(parsed.nonce, Buffer.concat([parsed.prefix, context])), handle);
      const out = this.module.lib.C_Decrypt(session, parsed.sealed, Buffer.alloc(parsed.sealed.length));
      if (out.length !== ROOT_KEY_LENGTH) throw new KeyringError(undefined, { detail: 'PKCS#11 unwrapped a key of the wrong length' });
      return Buffer.from(out);
    } catch (err) {
      if (err instanceof KeyringError) throw err;
      throw new KeyringError('keyring could not be opened: wrong root key or corrupted keyring', { detail: `PKCS#11 decrypt: ${describe(err)}` });
    }
  }

  keyIdOf(wrapped: Uint8Array): string | null {
    return parseWrapped(wrapped)?.id.toString('hex') ?? null;
  }

  async beginRotation(): Promise<RootKeyRotation> {
    const id = randomBytes(KEY_ID_LENGTH);
    const handle = this.generate(id, `${this.keyLabel}${PENDING_SUFFIX}`);
    return {
      keyId: id.toString('hex'),
      wrapKey: (key, context) => Promise.resolve(this.wrapUnder(handle, key, context)),
      commit: async (previousKeyId) => {
        call('relabel root key', () => this.module.lib.C_SetAttributeValue(this.session(), handle, [{ type: pkcs11js.CKA_LABEL, value: this.keyLabel }]));
        if (previousKeyId === null || !/^[0-9a-f]+$/.test(previousKeyId)) return { destroyedPrevious: false };
        const previous = this.findById(Buffer.from(previousKeyId, 'hex'));
        if (previous === null) return { destroyedPrevious: false };
        call('destroy previous root key', () => this.module.lib.C_DestroyObject(this.session(), previous));
        return { destroyedPrevious: true };
      },
      abort: async () => {
        call('destroy pending root key', () => this.module.lib.C_DestroyObject(this.session(), handle));
      },
    };
  }

  async close(): Promise<void> {
    if (this.#session === null) return;
    const session = this.#session;
    this.#session = null;
    try {
      this.module.lib.C_CloseSession(session);
    } catch {
      // already gone with the token: nothing to release
    }
    this.module.release();
  }

  /** Wraps under `handle` with a fresh nonce (`nonce` for known-answer vectors only). */
  wrapUnder(handle: pkcs11js.Handle, key: Uint8Array, context: Uint8Array, nonce?: Uint8Array): Buffer {
    if (key.length !== ROOT_KEY_LENGTH) throw new ValidationError(`keyring key must be ${ROOT_KEY_LENGTH} bytes`);
    const session = this.session();
    const id = call('read key id', () => this.module.lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_ID }])[0]?.value);
    if (!(id instanceof Buffer) || id.length === 0 || id.length > 255) throw new KeyringError(undefined, { detail: 'PKCS#11 root key has no usable CKA_ID' });
    const iv = nonce === undefined ? randomBytes(NONCE_LENGTH) : Buffer.from(nonce);
    const prefix = Buffer.concat([Buffer.of(PKCS11_WRAP_VERSION, id.length), id]);
    const sealed = call('encrypt', () => {
      this.module.lib.C_EncryptInit(session, gcm(iv, Buffer.concat([prefix, context])), handle);
      return Buffer.from(this.module.lib.C_Encrypt(session, Buffer.from(key), Buffer.alloc(key.length + TAG_LENGTH)));
    });
    return Buffer.concat([prefix, iv, sealed]);
  }

  /** The root key labelled `keyLabel`, generated at first use. Several of them: KeyringError. */
  currentKey(): pkcs11js.Handle {
    const found = this.find([{ type: pkcs11js.CKA_LABEL, value: this.keyLabel }]);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) throw new KeyringError(`several PKCS#11 root keys are labelled \`${this.keyLabel}\`: keep one`);
    return this.generate(randomBytes(KEY_ID_LENGTH), this.keyLabel);
  }

  /**
   * Generates an AES-256 root key in the token.
   * INVARIANT: sensitive and never extractable: its value can never be read out of the HSM.
   */
  private generate(id: Buffer, label: string): pkcs11js.Handle {
    return call('generate root key', () =>
      this.module.lib.C_GenerateKey(this.session(), { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: ROOT_KEY_LENGTH },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
        { type: pkcs11js.CKA_MODIFIABLE, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_ID, value: id },
      ]),
    );
  }

  private findById(id: Buffer): pkcs11js.Handle | null {
    const found = this.find([{ type: pkcs11js.CKA_ID, value: id }]);
    return found.length === 1 ? found[0]! : null;
  }

  private find(template: pkcs11js.Template): pkcs11js.Handle[] {
    const session = this.session();
    return call('find root key', () => {
      this.module.lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES }, ...template]);
      try {
        return this.module.lib.C_FindObjects(session, 16);
      } finally {
        this.module.lib.C_FindObjectsFinal(session);
      }
    });
  }

  private session(): pkcs11js.Handle {
    if (this.#session === null) throw new KeyringError(undefined, { detail: 'PKCS#11 provider is closed' });
    return this.#session;
  }
}

function gcm(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
  const parameter: pkcs11js.GcmParams = { type: pkcs11js.CK_PARAMS_GCM, iv, ivBits: iv.length * 8, aad, tagBits: TAG_LENGTH * 8 };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}

function parseWrapped(wrapped: Uint8Array): { prefix: Buffer; id: Buffer; nonce: Buffer; sealed: Buffer } | null {
  const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (bytes.length < 2 || bytes.readUInt8(0) !== PKCS11_WRAP_VERSION) return null;
  const idLength = bytes.readUInt8(1);
  if (idLength === 0 || bytes.length !== 2 + idLength + NONCE_LENGTH + ROOT_KEY_LENGTH + TAG_LENGTH) return null;
  return {
    prefix: bytes.subarray(0, 2 + idLength),
    id: bytes.subarray(2, 2 + idLength),
    nonce: bytes.subarray(2 + idLength, 2 + idLength + NONCE_LENGTH),
    sealed: bytes.subarray(2 + idLength + NONCE_LENGTH),
  };
}

async function readPin(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new KeyringError(`PKCS#11 PIN file \`${path}\` cannot be read`, { cause: err });
  }
}

/** Runs a PKCS#11 call; its failures become KeyringError naming the CKR code (never a PIN or key). */
function call<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof KeyringError) throw err;
    throw new KeyringError(`PKCS#11 ${what} failed`, { detail: describe(err) });
  }
}

function describe(err: unknown): string {
  if (err instanceof pkcs11js.Pkcs11Error) return `${err.method}: ${err.message}`;
  return err instanceof Error ? err.name : 'unknown error';
}

/** One loaded, initialized PKCS#11 module, shared by the providers of this process. */
interface LoadedModule {
  lib: pkcs11js.PKCS11;
  /** SHA-256 of the PIN each token was logged in with, by token label (the login is the process's). */
  loggedIn: Map<string, Buffer>;
  release(): void;
}

const loaded = new Map<string, { lib: pkcs11js.PKCS11; users: number; loggedIn: Map<string, Buffer> }>();

function pinDigest(pin: string): Buffer {
  return createHash('sha256').update(pin, 'utf8').digest();
}

/**
 * C_Initialize may run once per process and module: providers share it, counted, and the
 * last one to close finalizes it.
 */
function loadModule(path: string): LoadedModule {
  let entry = loaded.get(path);
  if (entry === undefined) {
    const lib = new pkcs11js.PKCS11();
    try {
      lib.load(path);
      lib.C_Initialize();
    } catch (err) {
      throw new KeyringError(`PKCS#11 module \`${path}\` could not be loaded`, { detail: describe(err) });
    }
    entry = { lib, users: 0, loggedIn: new Map() };
    loaded.set(path, entry);
  }
  entry.users++;
  const used = entry;
  let released = false;
  return {
    lib: used.lib,
    loggedIn: used.loggedIn,
    release: () => {
      if (released) return;
      released = true;
      if (--used.users > 0) return;
      loaded.delete(path);
      try {
        used.lib.C_Finalize();
        used.lib.close();
      } catch {
        // finalizing a module that failed is best effort
      }
    },
  };
}
