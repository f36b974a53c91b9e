/**
 * Checks on detector state read back from storage. A stored state is trusted like the
 * database that holds it, but a state that does not have the expected shape (written by
 * another version, damaged) must be dropped and rebuilt, never half-read: these throw
 * {@link StateFormatError}, which the engine catches per principal.
 */
export class StateFormatError extends Error {
  constructor(what: string) {
    super(`stored monitor state is not valid: ${what}`);
    this.name = 'StateFormatError';
  }
}

/** `v` if it is a finite number, else throws. */
export function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new StateFormatError(`${what} is not a number`);
  return v;
}

/** `v` if it is a finite number or null, else throws. */
export function numOrNull(v: unknown, what: string): number | null {
  return v === null ? null : num(v, what);
}

/** `v` if it is a string, else throws. */
export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new StateFormatError(`${what} is not a string`);
  return v;
}

/** `v` if it is an array, else throws. */
export function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new StateFormatError(`${what} is not a list`);
  return v;
}

/** `v` if it is a plain object, else throws. */
export function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StateFormatError(`${what} is not an object`);
  return v as Record<string, unknown>;
}

/** A list of numbers. */
export function nums(v: unknown, what: string): number[] {
  return arr(v, what).map((x, i) => num(x, `${what}[${i}]`));
}
