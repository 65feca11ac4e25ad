import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
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
    const done_ = await db.selectFrom('customer_records').select('assignee_id').where('status', '=', 'done').execute();
    expect(done_.every((r) => r.assignee_id === leaver)).toBe(true);
    const endedRow = await db
      .selectFrom('callbacks')
      .select('assignee_id')
      .where('id', '=', ended)
      .executeTakeFirstOrThrow();
    expect(endedRow.assignee_id).toBe(leaver);
    // Trashed and unsubscribed customers moved too, and every move is in the history and the ledger.
    const trashed = await db.selectFrom('customers').select('owner_id').where('trashed_at', 'is not', null).execute();
    expect(trashed.length).toBe(2);
    expect(trashed.every((c) => c.owner_id === successor)).toBe(true);
    const history = await db.selectFrom('customer_history').selectAll().where('handover_id', '=', started.id).execute();
    expect(history).toHaveLength(40);
    expect(history.every((h) => h.from_value === leaver && h.to_value === successor && h.field === 'owner_id')).toBe(
      true,
    );
    const ledger = await db.selectFrom('handover_moves').selectAll().where('handover_id', '=', started.id).execute();
    expect(ledger).toHaveLength(123);
    expect(ledger.every((m) => m.applied_at !== null && m.reverted_at === null)).toBe(true);

    // The successor is told once, in Japanese; the admin hears it finished; the leaver's token is dead.
    const mails = await env.smtp.waitForMails(3); // customers-assigned, callbacks-assigned, handover-finished
    const assigned = mails.filter((m) => m.subject?.includes('40名の顧客'));
    expect(assigned).toHaveLength(1);
    expect(mails.some((m) => m.subject === 'The handover of Xavier Sato is finished')).toBe(true);
    expectStatus(await api.call('GET', `/v1/customers?ownerId=${leaver}`, undefined, token), 401);
  });
});
