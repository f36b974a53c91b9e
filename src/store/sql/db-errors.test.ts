import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageError, StorageFullError } from '../../domain/errors.js';
import { classifyDbError, storageFailure } from './db-errors.js';

const err = (props: Record<string, unknown>, message = 'driver said no') => Object.assign(new Error(message), props);

test('SQLite codes are classified', () => {
  assert.equal(classifyDbError(err({ code: 'SQLITE_CONSTRAINT_UNIQUE' }, 'UNIQUE constraint failed: versions.artifact_id, versions.number')).target, 'versions.artifact_id, versions.number');
  assert.equal(classifyDbError(err({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).kind, 'unique');
  assert.equal(classifyDbError(err({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' })).kind, 'foreign-key');
  assert.equal(classifyDbError(err({ code: 'SQLITE_FULL' })).kind, 'full');
  assert.equal(classifyDbError(err({ code: 'SQLITE_READONLY_DBMOVED' })).kind, 'read-only');
  assert.equal(classifyDbError(err({ code: 'SQLITE_BUSY_SNAPSHOT' })).kind, 'busy');
  assert.equal(classifyDbError(err({ code: 'SQLITE_CORRUPT' })).kind, 'other');
});

test('PostgreSQL SQLSTATEs and network errors are classified', () => {
  const unique = classifyDbError(err({ code: '23505', constraint: 'versions_artifact_number_uq' }));
  assert.deepEqual([unique.kind, unique.target], ['unique', 'versions_artifact_number_uq']);
  assert.equal(classifyDbError(err({ code: '23503' })).kind, 'foreign-key');
  assert.equal(classifyDbError(err({ code: '53100' })).kind, 'full');
  assert.equal(classifyDbError(err({ code: '25006' })).kind, 'read-only');
  assert.equal(classifyDbError(err({ code: '08006' })).kind, 'unavailable');
  assert.equal(classifyDbError(err({ code: 'ECONNREFUSED' })).kind, 'unavailable');
  assert.equal(classifyDbError(err({ code: '42P01' })).kind, 'other');
  assert.equal(classifyDbError('not even an error').kind, 'other');
});

test('failures become catalog errors whose public message holds no driver text', () => {
  const full = storageFailure(classifyDbError(err({ code: 'SQLITE_FULL' }, 'database or disk is full')), 'append audit', null);
  assert.ok(full instanceof StorageFullError);
  const other = storageFailure(classifyDbError(err({ code: '42601' }, 'syntax error at or near "selec"')), 'get setting', null);
  assert.ok(other instanceof StorageError);
  assert.equal(other.message, 'storage failure');
  assert.match(other.detail ?? '', /get setting: other: 42601: syntax error/);
});
