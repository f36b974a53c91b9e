/**
 * Runs a suite on both metadata dialects: SQLite (a file in a temp dir) and PostgreSQL
 * (a fresh database made from COFFER_TEST_PG_URL, dropped after). Without that variable
 * the PostgreSQL run is skipped with a message, except in CI, where it must run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgAdmin } from '../support/postgres.js';

/** A database to open stores (or a whole runtime) on: its URL (null = SQLite in `dir`), and how to drop it. */
export interface TestDatabase {
  /** PostgreSQL URL, or null for SQLite. */
  url: string | null;
  /** A directory for the SQLite file (and anything else the test writes). */
  dir: string;
  drop(): Promise<void>;
}

const baseUrl = process.env.COFFER_TEST_PG_URL;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** The dialects to run on: name, how to make a fresh database, and a skip message when it cannot run. */
export const DIALECTS: Array<{ name: 'SQLite' | 'PostgreSQL'; skip: string | false; open: () => Promise<TestDatabase> }> = [
  {
    name: 'SQLite',
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'coffer-sec-'));
      return { url: null, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: baseUrl === undefined || baseUrl === '' ? (inCi ? false : 'skipped: set COFFER_TEST_PG_URL to run on PostgreSQL') : false,
    async open() {
      assert.ok(baseUrl, 'CI is set but COFFER_TEST_PG_URL is not: the PostgreSQL run must happen in CI');
      const name = `coffer_sec_${randomBytes(6).toString('hex')}`;
      await pgAdmin(baseUrl, `CREATE DATABASE ${name}`);
      const u = new URL(baseUrl);
      u.pathname = `/${name}`;
      const dir = mkdtempSync(join(tmpdir(), 'coffer-sec-'));
      return {
        url: u.toString(),
        dir,
        drop: async () => {
          rmSync(dir, { recursive: true, force: true });
          await pgAdmin(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
    },
  },
];
