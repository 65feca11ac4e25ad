/**
 * Faults of PostgreSQL mid-move: every connection of the test database terminated; then the database
 * refusing connections for a while (ALLOW_CONNECTIONS false on this test's database only, and back).
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedCallback,
  seedOffice,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { checkInvariants, killAllWorkers, lockLastCustomer, spawnWorker, waitForApplied } from './helpers';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('fault_db', { MOVE_BATCH_SIZE: '100' });
  await spawnWorker(env);
});
afterAll(async () => {
  await setAllowConnections(true).catch(() => undefined);
  await killAllWorkers();
  await env?.close();
});

const dbName = () => new URL(env.database.url).pathname.slice(1);

/** Runs `statement` from the server's maintenance database (never on another test's database). */
async function maintenance(statement: string, params: unknown[] = []) {
  const u = new URL(env.database.url);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    return await client.query(statement, params);
  } finally {
    await client.end();
  }
}

const setAllowConnections = (allow: boolean) => maintenance(`alter database "${dbName()}" allow_connections ${allow}`);

async function startMidMove() {
  const { db, api } = env;
  const office = await seedOffice(db);
  await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office);
  const a = await seedAgent(db, office);
  const b = await seedAgent(db, office);
  await seedBook(db, office, leaver, 1000, 2);
  await seedCallback(db, leaver, 30);
  const lock = await lockLastCustomer(env, leaver); // the move stops at its last batch
  const { id } = expectStatus(
    await api.call('POST', '/v1/handovers', {
      kind: 'offboard',
      agentId: leaver,
      to: { pool: [a, b], strategy: 'least-loaded' },
    }),
    202,
  );
  await waitForApplied(db, id, 500);
  return { id, leaver, a, b, lock };
}

test('every connection terminated mid-move: the pools reconnect, the move is retried and completes', async () => {
  const s = await startMidMove();
  const { rows } = await sql<{ terminated: number }>`
    select count(*)::int as terminated from (select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid()) t`.execute(env.db);
  expect(rows[0]!.terminated).toBeGreaterThanOrEqual(2); // at least the worker's move and the lock holder
  await s.lock.release();

  const done = await waitForStatus(env.api, s.id, ['completed', 'compensated', 'failed'], 60_000);
  expect(done.status).toBe('completed');
  expect(done.summary).toMatchObject({ customers: 1000, bySuccessor: { [s.a]: 500, [s.b]: 500 } });
  await checkInvariants(env.db, s.id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
});

test('the database refuses connections for a while mid-move: the handover waits it out and completes', async () => {
  const s = await startMidMove();
  await setAllowConnections(false);
  try {
    await maintenance('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [dbName()]);
    await expect(sql`select 1`.execute(env.db)).rejects.toThrow(/not currently accepting connections|terminat/);
    await s.lock.release();
    // Several failed attempts of the move, read from Temporal rather than waited out on the clock.
    const handle = env.temporal.client.workflow.getHandle(s.id);
    const described = await waitFor('the move to fail twice', async () => {
      const d = await handle.describe();
      return (d.raw.pendingActivities?.[0]?.attempt ?? 0) > 2 ? d : undefined;
    });
    expect(described.status.name).toBe('RUNNING');
    expect(described.raw.pendingActivities?.[0]?.activityType?.name).toBe('move');
  } finally {
    await setAllowConnections(true);
  }

  const done = await waitForStatus(env.api, s.id, ['completed', 'compensated', 'failed'], 60_000);
  expect(done.status).toBe('completed');
  expect(done.summary).toMatchObject({ customers: 1000 });
  await checkInvariants(env.db, s.id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
});
