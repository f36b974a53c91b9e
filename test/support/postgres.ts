import pg from 'pg';

/** Runs one SQL statement on `url` with a short-lived client (CREATE/DROP DATABASE in tests). */
export async function pgAdmin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
