import { sql } from 'kysely';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createToken, expectStatus } from '../helpers/directory';
import { expectEach } from '../helpers/expect-each';
import { failingFinish } from '../helpers/fail-finish';
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

let env: HandoverEnv;
const { handovers: failFinish, interceptor: injectFailure } = failingFinish();

beforeAll(async () => {
  env = await createHandoverEnv('transfer');
  await env.startWorker({ activity: [injectFailure] });
});
afterAll(() => env?.close());

/** Two offices; in the old one an admin, the agent who moves (with a book) and a colleague. */
async function setup(customers = 20, records = 3) {
  const { db } = env;
  const oldOffice = await seedOffice(db);
  const newOffice = await seedOffice(db);
  // Names (and so e-mail addresses) of their own: the SMTP server is shared by the whole file.
  const tag = oldOffice.slice(0, 8);
  const admin = await seedAgent(db, oldOffice, { name: `Old Admin ${tag}`, role: 'admin' });
  const mover = await seedAgent(db, oldOffice, { name: `Mika Mover ${tag}` });
  const colleague = await seedAgent(db, oldOffice, { name: `Colleague ${tag}` });
  const newAdmin = await seedAgent(db, newOffice, { role: 'admin' });
  const stranger = await seedAgent(db, newOffice);
  await seedBook(db, oldOffice, mover, customers, records);
  return { oldOffice, newOffice, admin, mover, colleague, newAdmin, stranger, moverName: `Mika Mover ${tag}` };
}

const recipients = (m: ParsedMail) => (m.to && 'text' in m.to ? m.to.text : '');
/** Waits until a mail to `email` with this subject arrives; returns the matching mails. */
const mailsTo = (email: string, subject: string) =>
  waitFor(
    () => `a mail to ${email} "${subject}" (got: ${env.smtp.mails.map((m) => `${recipients(m)}: ${m.subject}`)})`,
    async () => {
      const found = env.smtp.mails.filter((m) => recipients(m).includes(email) && m.subject === subject);
      return found.length > 0 ? found : undefined;
    },
    20_000,
  );

const agentRow = (id: string) => env.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

const customersOf = (ownerId: string) =>
  env.db.selectFrom('customers').selectAll().where('owner_id', '=', ownerId).orderBy('id').execute();

/** Every customer, record, callback and agent of the test's offices, as plain rows (to compare before/after). */
async function snapshot(offices: string[]) {
  const { rows } = await sql<{ what: string }>`
    select 'customer ' || c.id || ' ' || c.office_id || ' ' || coalesce(c.owner_id, '-') as what
      from customers c where c.office_id = any(${offices}::text[])
    union all
    select 'record ' || r.id || ' ' || coalesce(r.assignee_id, '-') || ' ' || r.status
      from customer_records r join customers c on c.id = r.customer_id where c.office_id = any(${offices}::text[])
    union all
    select 'callback ' || b.id || ' ' || coalesce(b.assignee_id, '-') from callbacks b
      join agents a on a.id = b.assignee_id where a.office_id = any(${offices}::text[])
    union all
    select 'agent ' || a.id || ' ' || a.office_id || ' ' || a.status from agents a
      where a.office_id = any(${offices}::text[])
    order by 1`.execute(env.db);
  return rows.map((r) => r.what);
}

const start = async (body: Record<string, unknown>, token?: string) =>
  expectStatus(await env.api.call('POST', '/v1/handovers', { kind: 'transfer', ...body }, token), 202);

describe('transfer, customers move with the agent', () => {
  test('blocks on a lead source like offboard; then every customer (trashed and unsubscribed too) changes office and stays the agent’s', async () => {
    const { api, db } = env;
    const s = await setup(20, 3);
    const key = `portal-${s.oldOffice.slice(0, 8)}`;
    await db
      .insertInto('lead_sources')
      .values({ key, name: 'Portal', office_id: s.oldOffice, default_assignee_id: s.mover })
      .execute();

    const started = await start({
      agentId: s.mover,
      toOfficeId: s.newOffice,
      customers: 'move',
      options: { recheckIntervalSeconds: 3600 },
    });
    expect(started).toMatchObject({ kind: 'transfer', agentId: s.mover, status: 'running' });
    const blocked = await waitForStatus(api, started.id, ['blocked']);
    expect(blocked).toMatchObject({ phase: 'blocked', blockedBy: [{ leadSourceKey: key, name: 'Portal' }] });
    expect((await agentRow(s.mover)).status).toBe('leaving');
    expect(await db.selectFrom('handover_moves').select('seq').where('handover_id', '=', started.id).execute()).toEqual(
      [],
    );
    expectEach(await customersOf(s.mover), 20, { office_id: s.oldOffice });

    await db.updateTable('lead_sources').set({ default_assignee_id: s.admin }).where('key', '=', key).execute();
    expectStatus(await api.call('POST', `/v1/handovers/${started.id}/recheck`), 202);
    const done = await waitForStatus(api, started.id, ['completed', 'failed', 'compensated'], 20_000);
    expect(done).toMatchObject({ status: 'completed', phase: 'done', error: null });
    expect(done.summary).toMatchObject({ customers: 20, records: 0, callbacks: 0, conflicts: [] });

    // The customers changed office and nothing else; their records kept their assignees.
    const book = await customersOf(s.mover);
    expectEach(book, 20, { office_id: s.newOffice });
    expect(book.filter((c) => c.trashed_at !== null)).toHaveLength(1);
    expect(book.filter((c) => !c.subscribed)).toHaveLength(2);
    const records = await db
      .selectFrom('customer_records')
      .select(['assignee_id', 'status'])
      .where(
        'customer_id',
        'in',
        book.map((c) => c.id),
      )
      .execute();
    expectEach(records, 60, { assignee_id: s.mover });

    // The agent is in its new office and active again.
    expect(await agentRow(s.mover)).toMatchObject({ office_id: s.newOffice, status: 'active' });

    // Every office change is in the history, with the handover.
    const history = await db.selectFrom('customer_history').selectAll().where('handover_id', '=', started.id).execute();
    expectEach(history, 20, { field: 'office_id', from_value: s.oldOffice, to_value: s.newOffice });
    const viaApi = expectStatus(await api.call('GET', `/v1/customers/${book[0]!.id}/history`), 200);
    expect(viaApi.items[0]).toMatchObject({
      field: 'officeId',
      from: s.oldOffice,
      to: s.newOffice,
      handoverId: started.id,
    });

    // The admins heard it blocked, then finished; nobody was told of customers assigned to them.
    const adminMail = (await agentRow(s.admin)).email;
    await mailsTo(adminMail, `Blocked: the handover of ${s.moverName} waits for lead sources`);
    await mailsTo(adminMail, `The handover of ${s.moverName} is finished`);
    expect(env.smtp.mails.filter((m) => /assigned/.test(m.subject ?? ''))).toEqual([]);
  });

  test('summary.bySuccessor names no successor: the customers stayed the agent’s', async () => {
    const s = await setup(4, 0);
    const started = await start({ agentId: s.mover, toOfficeId: s.newOffice, customers: 'move' });
    const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    // Office moves are not owner changes: nobody received customers.
    expect(done.summary.bySuccessor).toEqual({});
  });
});

describe('transfer, customers stay in the old office', () => {
  test('the customers and the agent’s open records go to `to`; done records keep their assignee; the agent moves', async () => {
    const { api, db } = env;
    const s = await setup(10, 2);
    // An open and a done record of the mover on the colleague's customer.
    await seedBook(db, s.oldOffice, s.colleague, 1, 0);
    const [theirs] = await customersOf(s.colleague);
    const [helpOut, oldNote] = await db
      .insertInto('customer_records')
      .values([
        { customer_id: theirs!.id, type: 'task', title: 'help out', assignee_id: s.mover, status: 'open' },
        { customer_id: theirs!.id, type: 'note', title: 'old note', assignee_id: s.mover, status: 'done' },
      ])
      .returning('id')
      .execute();
    const moverBook = (await customersOf(s.mover)).map((c) => c.id);

    const started = await start({
      agentId: s.mover,
      toOfficeId: s.newOffice,
      customers: 'stay',
      to: { agentId: s.colleague },
    });
    const done = await waitForStatus(api, started.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    // 10 customers; 10 × 1 open record following them + the one elsewhere.
    expect(done.summary).toMatchObject({
      customers: 10,
      records: 11,
      callbacks: 0,
      bySuccessor: { [s.colleague]: 10 },
      conflicts: [],
    });

    const stayed = await db.selectFrom('customers').selectAll().where('id', 'in', moverBook).execute();
    expectEach(stayed, 10, { owner_id: s.colleague, office_id: s.oldOffice });
    const records = await db
      .selectFrom('customer_records')
      .select(['id', 'assignee_id', 'status'])
      .where('customer_id', 'in', moverBook)
      .execute();
    // seedBook: per customer one done record, the rest open.
    expectEach(
      records.filter((r) => r.status === 'open'),
      10,
      { assignee_id: s.colleague },
    );
    expectEach(
      records.filter((r) => r.status === 'done'),
      10,
      { assignee_id: s.mover },
    );
    const elsewhere = await db
      .selectFrom('customer_records')
      .select(['id', 'assignee_id'])
      .where('id', 'in', [helpOut!.id, oldNote!.id])
      .execute();
    expect(Object.fromEntries(elsewhere.map((r) => [r.id, r.assignee_id]))).toEqual({
      [helpOut!.id]: s.colleague,
      [oldNote!.id]: s.mover,
    });
    expect(await agentRow(s.mover)).toMatchObject({ office_id: s.newOffice, status: 'active' });
    const history = await db.selectFrom('customer_history').selectAll().where('handover_id', '=', started.id).execute();
    expectEach(history, 10, { field: 'owner_id', from_value: s.mover, to_value: s.colleague });

    const colleagueMail = (await agentRow(s.colleague)).email;
    expect(await mailsTo(colleagueMail, 'The administrator assigned 10 customers to you')).toHaveLength(1);
  });

  test('refusals: same office, stay without `to`, `to` in another office (422); an admin of another office (403); nothing starts', async () => {
    const { api, db } = env;
    const s = await setup(3, 1);
    const before = await snapshot([s.oldOffice, s.newOffice]);
    const newAdminToken = await createToken(api, s.newAdmin);
    const oldAdminToken = await createToken(api, s.admin);

    const sameOffice = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'transfer',
        agentId: s.mover,
        toOfficeId: s.oldOffice,
        customers: 'move',
      }),
      422,
    );
    expect(sameOffice.errors).toEqual([{ path: 'body/toOfficeId', message: expect.any(String) }]);
    const noTo = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'transfer',
        agentId: s.mover,
        toOfficeId: s.newOffice,
        customers: 'stay',
      }),
      422,
    );
    expect(noTo.errors).toEqual([{ path: 'body/to', message: expect.any(String) }]);
    // `to` must be in the old office: where the customers stay.
    const elsewhere = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'transfer',
        agentId: s.mover,
        toOfficeId: s.newOffice,
        customers: 'stay',
        to: { agentId: s.stranger },
      }),
      422,
    );
    expect(elsewhere.errors).toEqual([{ path: 'body/to', message: expect.stringContaining('not in office') }]);
    // The mover itself cannot take its own customers.
    expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'transfer',
        agentId: s.mover,
        toOfficeId: s.newOffice,
        customers: 'stay',
        to: { agentId: s.mover },
      }),
      422,
    );
    // An unknown office is 422.
    expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'transfer',
        agentId: s.mover,
        toOfficeId: '00000000-0000-0000-0000-000000000000',
        customers: 'move',
      }),
      422,
    );
    // The admin of the new office does not administer the agent's current office.
    const body = { kind: 'transfer', agentId: s.mover, toOfficeId: s.newOffice, customers: 'move' };
    expectStatus(await api.call('POST', '/v1/handovers', body, newAdminToken), 403);
    expectStatus(await api.call('POST', '/v1/handovers/preview', body, newAdminToken), 403);
    // ... and the same refusals answer a preview.
    expectStatus(await api.call('POST', '/v1/handovers/preview', { ...body, toOfficeId: s.oldOffice }), 422);
    expectStatus(await api.call('POST', '/v1/handovers/preview', { ...body, customers: 'stay' }), 422);

    const started = await db.selectFrom('handovers').select('id').where('agent_id', '=', s.mover).execute();
    expect(started).toEqual([]);
    expect(await snapshot([s.oldOffice, s.newOffice])).toEqual(before);

    // The admin of the old office may.
    const ok = await start(body, oldAdminToken);
    expect((await waitForStatus(api, ok.id, ['completed', 'failed'])).status).toBe('completed');
  });
});

describe('transfer compensation', () => {
  test('cancel while blocked: cancelled, nothing moved, the agent active in its old office', async () => {
    const { api, db } = env;
    const s = await setup(5, 2);
    await db
      .insertInto('lead_sources')
      .values({
        key: `cancel-${s.oldOffice.slice(0, 8)}`,
        name: 'Portal',
        office_id: s.oldOffice,
        default_assignee_id: s.mover,
      })
      .execute();
    const before = await snapshot([s.oldOffice, s.newOffice]);
    const started = await start({ agentId: s.mover, toOfficeId: s.newOffice, customers: 'move' });
    await waitForStatus(api, started.id, ['blocked']);
    expect((await agentRow(s.mover)).status).toBe('leaving');
    expectStatus(await api.call('POST', `/v1/handovers/${started.id}/cancel`), 202);
    const cancelled = await waitForStatus(api, started.id, ['cancelled', 'compensated', 'failed']);
    expect(cancelled).toMatchObject({ status: 'cancelled', phase: 'done' });
    expect(await agentRow(s.mover)).toMatchObject({ office_id: s.oldOffice, status: 'active' });
    expect(await snapshot([s.oldOffice, s.newOffice])).toEqual(before);
    expect(await db.selectFrom('handover_moves').select('seq').where('handover_id', '=', started.id).execute()).toEqual(
      [],
    );
    expect(
      await db.selectFrom('customer_history').select('seq').where('handover_id', '=', started.id).execute(),
    ).toEqual([]);
  });

  test('a failure after the moves reverts them all, the agent’s office included; an absent agent is absent again', async () => {
    const { api, db } = env;
    const s = await setup(6, 2);
    await db.updateTable('agents').set({ status: 'absent' }).where('id', '=', s.mover).execute();
    await seedCallback(db, s.mover, 30);
    const before = await snapshot([s.oldOffice, s.newOffice]);
    const id = (
      await start({ agentId: s.mover, toOfficeId: s.newOffice, customers: 'stay', to: { agentId: s.colleague } })
    ).id;
    failFinish.set(id, undefined);
    const over = await waitForStatus(api, id, ['compensated', 'failed', 'completed']);
    expect(over.status).toBe('compensated');
    expect(await agentRow(s.mover)).toMatchObject({ office_id: s.oldOffice, status: 'absent' });
    expect(await snapshot([s.oldOffice, s.newOffice])).toEqual(before);
    const ledger = await db.selectFrom('handover_moves').selectAll().where('handover_id', '=', id).execute();
    // 6 customers, 6 open records following them, the agent's callback (it leaves the office), the agent's office.
    expect(ledger).toHaveLength(14);
    expect(ledger.filter((m) => m.entity === 'callback')).toHaveLength(1);
    expect(ledger.filter((m) => m.applied_at === null || m.reverted_at === null)).toEqual([]);
  });
});

describe('POST /v1/handovers/preview for transfer', () => {
  test('move: counts what the transfer then moves, changes nothing, names the blocking lead sources', async () => {
    const { api, db } = env;
    const s = await setup(20, 3);
    const key = `preview-${s.oldOffice.slice(0, 8)}`;
    await db
      .insertInto('lead_sources')
      .values({ key, name: 'Preview portal', office_id: s.oldOffice, default_assignee_id: s.mover })
      .execute();
    const body = { kind: 'transfer', agentId: s.mover, toOfficeId: s.newOffice, customers: 'move' };
    const before = await snapshot([s.oldOffice, s.newOffice]);
    const handoversBefore = await db.selectFrom('handovers').select('id').execute();
    const preview = expectStatus(await api.call('POST', '/v1/handovers/preview', body), 200);
    expect(preview).toEqual({
      blockedBy: [{ leadSourceKey: key, name: 'Preview portal' }],
      counts: { customers: 20, unsubscribed: 2, trashed: 1, records: 0, callbacks: 0 },
      bySuccessor: {},
    });
    expect(await snapshot([s.oldOffice, s.newOffice])).toEqual(before);
    expect(await db.selectFrom('handovers').select('id').execute()).toEqual(handoversBefore);
    expect((await agentRow(s.mover)).status).toBe('active');

    await db.updateTable('lead_sources').set({ default_assignee_id: null }).where('key', '=', key).execute();
    const started = await start(body);
    const done = await waitForStatus(api, started.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({
      customers: preview.counts.customers,
      records: preview.counts.records,
      callbacks: preview.counts.callbacks,
    });
  });

  test('stay: counts and split match the summary', async () => {
    const { api, db } = env;
    const s = await setup(9, 3);
    const second = await seedAgent(db, s.oldOffice);
    await seedBook(db, s.oldOffice, second, 2, 0); // loads: colleague 0, second 2
    const body = {
      kind: 'transfer',
      agentId: s.mover,
      toOfficeId: s.newOffice,
      customers: 'stay',
      to: { pool: [s.colleague, second], strategy: 'least-loaded' },
    };
    const before = await snapshot([s.oldOffice, s.newOffice]);
    const preview = expectStatus(await api.call('POST', '/v1/handovers/preview', body), 200);
    // 9 customers → colleague 0+5.5, second 2+3.5: 6 and 3 after water filling (ties to the earlier member).
    expect(preview).toEqual({
      blockedBy: [],
      counts: { customers: 9, unsubscribed: 0, trashed: 0, records: 18, callbacks: 0 },
      bySuccessor: { [s.colleague]: 6, [second]: 3 },
    });
    expect(await snapshot([s.oldOffice, s.newOffice])).toEqual(before);

    const started = await start(body);
    const done = await waitForStatus(api, started.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({
      customers: preview.counts.customers,
      records: preview.counts.records,
      callbacks: preview.counts.callbacks,
      bySuccessor: preview.bySuccessor,
    });
  });
});
