import type { KeyringStore } from '../../src/crypto/index.js';

/** An in-memory compare-and-set KeyringStore, as MetadataStore settings behave. */
export class MemoryKeyringStore implements KeyringStore {
  value: Uint8Array | null = null;
  load(): Promise<Uint8Array | null> {
    return Promise.resolve(this.value === null ? null : Uint8Array.from(this.value));
  }
  save(sealed: Uint8Array, previous: Uint8Array | null): Promise<boolean> {
    const ok = previous === null ? this.value === null : this.value !== null && Buffer.from(this.value).equals(previous);
    if (ok) this.value = Uint8Array.from(sealed);
    return Promise.resolve(ok);
  }
}
