import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import { expectEach } from '../helpers/expect-each';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedCallback,
  seedOffice,
  waitForStatus,
} from '../helpers/handover-env';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('offboard');
  await env.startWorker();
});
afterAll(() => env?.close());

async function owned(agentId: string) {
  const { rows } = await sql<{ customers: number; openRecords: number; callbacks: number }>`
    select (select count(*) from customers where owner_id = ${agentId}) as "customers",
           (select count(*) from customer_records where assignee_id = ${agentId} and status = 'open') as "openRecords",
           (select count(*) from callbacks where assignee_id = ${agentId} and ends_at > now()) as "callbacks"`.execute(
    env.db,
  );
  return rows[0]!;
}

describe('offboard', () => {
  test('moves every customer (unsubscribed and trashed too), open records and callbacks, then deactivates', async () => {
    const { db, api } = env;
    const office = await seedOffice(db);
    const admin = await seedAgent(db, office, { name: 'Ada Admin', role: 'admin' });
    const leaver = await seedAgent(db, office, { name: 'Xavier Sato' });
    const successor = await seedAgent(db, office, { name: 'Yuki Ito', locale: 'ja' });
    await seedBook(db, office, leaver, 40, 3);
    // An open record of the leaver on someone else's customer, and a done one that must keep its assignee.
    await seedBook(db, office, admin, 1, 0);
    const [other] = await db.selectFrom('customers').select('id').where('owner_id', '=', admin).execute();
    await db
      .insertInto('customer_records')
      .values([
        { customer_id: other!.id, type: 'task', title: 'help out', assignee_id: leaver, status: 'open' },
        { customer_id: other!.id, type: 'note', title: 'old note', assignee_id: leaver, status: 'done' },
      ])
      .execute();
    await seedCallback(db, leaver, 60);
    await seedCallback(db, leaver, -5); // running now, not ended
    const ended = await seedCallback(db, leaver, -120); // ended: stays

    const token = 'leaver-token';
    await db
      .insertInto('api_tokens')
      .values({ agent_id: leaver, token_hash: (await import('../../src/api/auth')).hashToken(token) })
      .execute();
    expectStatus(await api.call('GET', `/v1/customers?ownerId=${leaver}`, undefined, token), 200);

    const started = expectStatus(
      await api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: leaver, to: { agentId: successor } }),
      202,
    );
    expect(started).toMatchObject({ kind: 'offboard', agentId: leaver, status: 'running' });
    const done = await waitForStatus(api, started.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    expect(done.phase).toBe('done');
    // 40 customers, 40 × 2 open records + 1 elsewhere, 2 callbacks
    expect(done.summary).toMatchObject({
      customers: 40,
      records: 81,
      callbacks: 2,
      bySuccessor: { [successor]: 40 },
      conflicts: [],
    });

    expect(await owned(leaver)).toEqual({ customers: 0, openRecords: 0, callbacks: 0 });
    expect((await owned(successor)).customers).toBe(40);
    const agent = await db.selectFrom('agents').select('status').where('id', '=', leaver).executeTakeFirstOrThrow();
    expect(agent.status).toBe('offboarded');
    // Done records keep their assignee; the ended callback stays.
    // 40 customers × 1 done record, and the done note on the admin's customer.
    const done_ = await db
      .selectFrom('customer_records as r')
      .innerJoin('customers as c', 'c.id', 'r.customer_id')
      .select('r.assignee_id')
      .where('r.status', '=', 'done')
      .where('c.office_id', '=', office)
      .execute();
    expectEach(done_, 41, { assignee_id: leaver });
    const endedRow = await db
      .selectFrom('callbacks')
      .select('assignee_id')
      .where('id', '=', ended)
      .executeTakeFirstOrThrow();
    expect(endedRow.assignee_id).toBe(leaver);
    // Trashed and unsubscribed customers moved too, and every move is in the history and the ledger.
    const trashed = await db
      .selectFrom('customers')
      .select('owner_id')
      .where('trashed_at', 'is not', null)
      .where('office_id', '=', office)
      .execute();
    expectEach(trashed, 2, { owner_id: successor }); // every 20th of 40
    const unsubscribed = await db
      .selectFrom('customers')
      .select('owner_id')
      .where('subscribed', '=', false)
      .where('office_id', '=', office)
      .execute();
    expectEach(unsubscribed, 4, { owner_id: successor }); // every 10th of 40
    const history = await db.selectFrom('customer_history').selectAll().where('handover_id', '=', started.id).execute();
    expectEach(history, 40, { from_value: leaver, to_value: successor, field: 'owner_id' });
    const ledger = await db.selectFrom('handover_moves').selectAll().where('handover_id', '=', started.id).execute();
    expectEach(ledger, 123, { reverted_at: null });
    expect(ledger.filter((m) => m.applied_at === null)).toEqual([]);

    // The successor is told once, in Japanese; the admin hears it finished; the leaver's token is dead.
    const mails = await env.smtp.waitForMails(3); // customers-assigned, callbacks-assigned, handover-finished
    const assigned = mails.filter((m) => m.subject?.includes('40名の顧客'));
    expect(assigned).toHaveLength(1);
    expect(mails.some((m) => m.subject === 'The handover of Xavier Sato is finished')).toBe(true);
    expectStatus(await api.call('GET', `/v1/customers?ownerId=${leaver}`, undefined, token), 401);
  });
});
