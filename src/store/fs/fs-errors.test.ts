import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFoundError, StorageError, StorageFullError } from '../../domain/errors.js';
import { isMissing, mapFsError } from './fs-errors.js';

function sysError(code: string): Error {
  return Object.assign(new Error(`${code}: something at /secret/path`), { code });
}

test('ENOSPC and EDQUOT map to StorageFullError, other errors to StorageError', () => {
  assert.ok(mapFsError(sysError('ENOSPC'), 'put') instanceof StorageFullError);
  assert.ok(mapFsError(sysError('EDQUOT'), 'put') instanceof StorageFullError);
  const err = mapFsError(sysError('EROFS'), 'put');
  assert.ok(err instanceof StorageError);
  assert.equal(err.message, 'storage failure', 'the public message carries no path');
  assert.match(err.detail ?? '', /put: EROFS/);
});

test('catalog errors pass through and missing paths are recognised', () => {
  const nf = new NotFoundError();
  assert.equal(mapFsError(nf, 'get'), nf);
  assert.ok(isMissing(sysError('ENOENT')));
  assert.ok(isMissing(sysError('ENOTDIR')));
  assert.ok(!isMissing(sysError('EACCES')));
});
