/** Ways to stop a handover at a chosen point, for real: row and table locks held by another connection. */
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../../src/db/connect';
import { type HandoverEnv, waitFor } from './handover-env';

/** A transaction in its own connection holding a lock until `release()`. */
export interface HeldLock {
  release(): Promise<void>;
}

export async function holdLock(databaseUrl: string, statement: string, params: unknown[] = []): Promise<HeldLock> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('begin');
  await client.query(statement, params);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('rollback').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Row lock on the agent's last customer (in id order): with small batches, the move stops just before the end. */
export async function lockLastCustomer(env: HandoverEnv, ownerId: string): Promise<HeldLock> {
  const last = await env.db
    .selectFrom('customers')
    .select('id')
    .where('owner_id', '=', ownerId)
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  return holdLock(env.database.url, 'select id from customers where id = $1 for update', [last.id]);
}

export async function ledgerCounts(db: Db, handoverId: string) {
  const row = await db
    .selectFrom('handover_moves')
    .select([
      (eb) => eb.fn.countAll<number>().as('planned'),
      (eb) => eb.fn.count<number>('applied_at').as('applied'),
      (eb) => eb.fn.count<number>('reverted_at').as('reverted'),
    ])
    .where('handover_id', '=', handoverId)
    .executeTakeFirstOrThrow();
  return { planned: Number(row.planned), applied: Number(row.applied), reverted: Number(row.reverted) };
}

export const waitForApplied = (db: Db, handoverId: string, atLeast: number, timeoutMs = 60_000) =>
  waitFor(
    `${atLeast} moves applied in ${handoverId}`,
    async () => ((await ledgerCounts(db, handoverId)).applied >= atLeast ? true : undefined),
    timeoutMs,
  );

/**
 * Waits until `count` sessions of the test's database wait for a lock: the interleaving a test
 * names has really happened (instead of sleeping and hoping it did).
 */
export const waitForLockWaits = (db: Db, count: number, what: string, timeoutMs = 30_000) =>
  waitFor(
    `${count} sessions waiting for a lock (${what})`,
    async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
      return rows[0]!.n >= count ? true : undefined;
    },
    timeoutMs,
  );
