import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import { failingFinish } from '../helpers/fail-finish';
import {
  createHandoverEnv,
  type HandoverEnv,
  type RunningWorker,
  seedAgent,
  seedBook,
  seedCallback,
  seedOffice,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { lockLastCustomer, waitForApplied } from '../helpers/locks';

let env: HandoverEnv;
let worker: RunningWorker;
const { handovers: failFinish, interceptor: injectFailure } = failingFinish();

beforeAll(async () => {
  env = await createHandoverEnv('compensation', { MOVE_BATCH_SIZE: '100' });
  worker = await env.startWorker({ activity: [injectFailure] });
});
afterAll(() => env?.close());

async function setup(customers: number) {
  const { db } = env;
  const office = await seedOffice(db);
  const admin = await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office);
  const a = await seedAgent(db, office);
  const b = await seedAgent(db, office);
  await seedBook(db, office, leaver, customers, 2);
  await seedCallback(db, leaver, 30);
  return { office, admin, leaver, a, b };
}

async function snapshot(leaver: string) {
  const { rows } = await sql<{ customers: number; records: number; callbacks: number }>`
    select (select count(*) from customers where owner_id = ${leaver}) as customers,
           (select count(*) from customer_records where assignee_id = ${leaver}) as records,
           (select count(*) from callbacks where assignee_id = ${leaver}) as callbacks`.execute(env.db);
  return rows[0]!;
}

describe('compensation', () => {
  test('a failure after the moves reverts every move except one someone else changed meanwhile, which is kept and reported', async () => {
    const { api, db } = env;
    const s = await setup(30);
    const before = await snapshot(s.leaver);
    const [touched] = await db
      .selectFrom('customers')
      .select('id')
      .where('owner_id', '=', s.leaver)
      .orderBy('id')
      .limit(1)
      .execute();
    const { id } = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'offboard',
        agentId: s.leaver,
        to: { pool: [s.a, s.b], strategy: 'round-robin' },
      }),
      202,
    );
    // While the handover runs, an admin hands one moved customer to someone else by hand.
    failFinish.set(id, async () => {
      await db.updateTable('customers').set({ owner_id: s.admin }).where('id', '=', touched!.id).execute();
    });
    const done = await waitForStatus(api, id, ['compensated', 'failed', 'completed']);
    expect(done.status).toBe('compensated');
    expect(done.error).toContain('injected failure');
    expect(done.summary.conflicts).toEqual([
      { entity: 'customer', id: touched!.id, detail: expect.stringContaining('kept') },
    ]);

    const after = await snapshot(s.leaver);
    expect(after).toEqual({ ...before, customers: before.customers - 1 });
    const kept = await db
      .selectFrom('customers')
      .select('owner_id')
      .where('id', '=', touched!.id)
      .executeTakeFirstOrThrow();
    expect(kept.owner_id).toBe(s.admin);
    const agent = await db.selectFrom('agents').select('status').where('id', '=', s.leaver).executeTakeFirstOrThrow();
    expect(agent.status).toBe('active');
    // The ledger says exactly what happened, and the history has the move and its revert.
    const ledger = await db.selectFrom('handover_moves').selectAll().where('handover_id', '=', id).execute();
    expect(ledger.filter((m) => m.reverted_at === null && m.applied_at !== null)).toHaveLength(1);
    const history = await db
      .selectFrom('customer_history')
      .selectAll()
      .where('customer_id', '=', touched!.id)
      .execute();
    expect(history.filter((h) => h.handover_id === id)).toHaveLength(1);

    // Both successors were told of their customers, then told of the revert.
    const emails = await db.selectFrom('agents').select('email').where('id', 'in', [s.a, s.b]).execute();
    await env.smtp.waitForMails(1);
    await waitFor('reverted mails', async () => {
      const reverted = env.smtp.mails.filter((m) => m.subject?.startsWith('Reverted'));
      return reverted.length >= 2 ? reverted : undefined;
    });
    for (const { email } of emails) {
      const mine = env.smtp.mails.filter((m) => (m.to && 'text' in m.to ? m.to.text : '') === email);
      expect(mine.map((m) => m.subject?.split(':')[0])).toEqual(expect.arrayContaining(['Reverted']));
    }
  });

  test('cancel through the Temporal client mid-move: compensated, nothing left moved', async () => {
    const { api, db, temporal } = env;
    const s = await setup(1000);
    const before = await snapshot(s.leaver);
    // Hold a row lock on the last customer, so the move stops mid-way (batches of 100).
    const lock = await lockLastCustomer(env, s.leaver);

    const { id } = expectStatus(
      await api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: s.leaver, to: { agentId: s.a } }),
      202,
    );
    await waitForApplied(db, id, 500);
    await temporal.client.workflow.getHandle(id).cancel(); // as the Web UI's cancel button does
    await lock.release();

    const done = await waitForStatus(api, id, ['compensated', 'cancelled', 'failed', 'completed']);
    expect(done.status).toBe('compensated');
    expect(await snapshot(s.leaver)).toEqual(before);
    const agent = await db.selectFrom('agents').select('status').where('id', '=', s.leaver).executeTakeFirstOrThrow();
    expect(agent.status).toBe('active');
  });

  test('a worker stopped mid-move and replaced finishes the handover: consistent ledger, no mail twice', async () => {
    const { api, db } = env;
    const s = await setup(1000);
    const lock = await lockLastCustomer(env, s.leaver);
    const { id } = expectStatus(
      await api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: s.leaver, to: { agentId: s.b } }),
      202,
    );
    await waitForApplied(db, id, 500);
    const stopping = worker.stop();
    await lock.release();
    await stopping;
    worker = await env.startWorker({ activity: [injectFailure] });

    const done = await waitForStatus(api, id, ['completed', 'compensated', 'failed'], 90_000);
    expect(done.status).toBe('completed');
    expect(await snapshot(s.leaver)).toMatchObject({ customers: 0, callbacks: 0 });
    const ledger = await db
      .selectFrom('handover_moves')
      .select([(eb) => eb.fn.countAll<number>().as('all'), (eb) => eb.fn.count<number>('applied_at').as('applied')])
      .where('handover_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(Number(ledger.applied)).toBe(Number(ledger.all));
    const history = await db
      .selectFrom('customer_history')
      .select('customer_id')
      .where('handover_id', '=', id)
      .execute();
    expect(new Set(history.map((h) => h.customer_id)).size).toBe(history.length); // nobody moved twice
    const bEmail = (await db.selectFrom('agents').select('email').where('id', '=', s.b).executeTakeFirstOrThrow())
      .email;
    await waitFor('the assignment mail', async () =>
      env.smtp.mails.some((m) => m.subject?.includes('1000 customers')) ? true : undefined,
    );
    const toB = env.smtp.mails.filter(
      (m) => (m.to && 'text' in m.to ? m.to.text : '') === bEmail && m.subject?.includes('customers'),
    );
    expect(toB).toHaveLength(1);
  });
});
