import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, type Db } from '../../src/db/connect';
import { migrateToLatest } from '../../src/db/migrate';

export interface TestDatabase {
  db: Db;
  url: string;
  drop(): Promise<void>;
}

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database of its own for one test file; `drop()` removes it. */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `handover_${label.replace(/\W/g, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = withDatabase(serverUrl, name);
  const db = createDb(url, 10);
  await migrateToLatest(db);
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      await admin(async (c) => {
        // pg's pool.end() resolves before its clients' sockets have closed; forcing the drop while they
        // are still closing makes them emit an unhandled 57P01. Give them a moment (at most 2 s) first.
        for (let i = 0; i < 40; i++) {
          const { rows } = await c.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    },
  };
}

const tablesOf = new WeakMap<Db, string[]>();

/** Row count and an md5 of every row of every table: equal snapshots mean an unchanged database. */
export async function snapshotDatabase(db: Db): Promise<string> {
  let tables = tablesOf.get(db);
  if (!tables) {
    const { rows } = await sql<{ tablename: string }>`
      select tablename from pg_tables where schemaname = 'public' order by tablename`.execute(db);
    tables = rows.map((r) => r.tablename);
    tablesOf.set(db, tables);
  }
  const parts = tables.map(
    (t) =>
      `select '${t}' as t, count(*)::int as n, md5(coalesce(string_agg(x::text, E'\\n' order by x::text), '')) as h from "${t}" x`,
  );
  const { rows } = await sql<{ t: string; n: number; h: string }>`${sql.raw(parts.join(' union all '))}`.execute(db);
  return rows.map((r) => `${r.t}:${r.n}:${r.h}`).join(' ');
}
