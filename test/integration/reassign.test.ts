import { sql } from 'kysely';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { activityGate } from '../helpers/activity-gate';
import { createToken, expectStatus } from '../helpers/directory';
import { expectEach } from '../helpers/expect-each';
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
const gate = activityGate();
beforeAll(async () => {
  env = await createHandoverEnv('reassign');
  await env.startWorker({ activity: [gate.interceptor] });
});
afterAll(() => env?.close());

const agentRow = (id: string) => env.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const customersOf = (ownerId: string) =>
  env.db.selectFrom('customers').selectAll().where('owner_id', '=', ownerId).orderBy('id').execute();
const callbackRow = (id: string) =>
  env.db.selectFrom('callbacks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

const recipients = (m: ParsedMail) => (m.to && 'text' in m.to ? m.to.text : '');
/** Waits until a mail to `email` whose subject matches arrives; returns the matching mails. */
async function mailsTo(email: string, subject: string | RegExp, count = 1) {
  return waitFor(
    () =>
      `${count} mail(s) to ${email} "${subject}" (got: ${env.smtp.mails.map((m) => `${recipients(m)}: ${m.subject}`)})`,
    async () => {
      const found = env.smtp.mails.filter(
        (m) =>
          recipients(m).includes(email) &&
          (typeof subject === 'string' ? m.subject === subject : subject.test(m.subject ?? '')),
      );
      return found.length >= count ? found : undefined;
    },
    20_000,
  );
}

/** Owners of customers and assignees of records and callbacks in `office`, as plain rows (to compare before/after). */
async function snapshot(offices: string[]) {
  const { rows } = await sql<{ what: string }>`
    select 'customer ' || c.id || ' ' || c.office_id || ' ' || coalesce(c.owner_id, '-') as what
      from customers c where c.office_id = any(${offices}::text[])
    union all
    select 'record ' || r.id || ' ' || coalesce(r.assignee_id, '-') || ' ' || r.status
      from customer_records r join customers c on c.id = r.customer_id where c.office_id = any(${offices}::text[])
    union all
    select 'callback ' || cb.id || ' ' || coalesce(cb.assignee_id, '-')
      from callbacks cb join agents a on a.id = cb.assignee_id where a.office_id = any(${offices}::text[])
    union all
    select 'agent ' || a.id || ' ' || a.office_id || ' ' || a.status from agents a
      where a.office_id = any(${offices}::text[])
    order by 1`.execute(env.db);
  return rows.map((r) => r.what);
}

const start = async (body: Record<string, unknown>, token?: string) =>
  expectStatus(await env.api.call('POST', '/v1/handovers', body, token), 202);
const finished = (id: string) => waitForStatus(env.api, id, ['completed', 'failed', 'compensated', 'cancelled']);

describe('reassign-customers', () => {
  test('from an agent to a least-loaded pool: owners change, open records of the old owner follow, the agent stays active', async () => {
    const { db } = env;
    const office = await seedOffice(db);
    const from = await seedAgent(db, office, { name: 'Book Keeper' });
    const p1 = await seedAgent(db, office);
    const p2 = await seedAgent(db, office);
    await seedBook(db, office, from, 15, 3); // 1 done + 2 open records each
    await seedBook(db, office, p1, 5, 0);
    const book = (await customersOf(from)).map((c) => c.id);
    // An open record on the agent's customer assigned to someone else stays with that someone.
    const [othersTask] = await db
      .insertInto('customer_records')
      .values({ customer_id: book[0]!, type: 'task', title: 'p1 helps', assignee_id: p1, status: 'open' })
      .returning('id')
      .execute();
    // What reassign-customers does not touch: the agent's records elsewhere and its callbacks.
    const [p1Customer] = await customersOf(p1);
    const [elsewhere] = await db
      .insertInto('customer_records')
      .values({ customer_id: p1Customer!.id, type: 'task', title: 'help p1', assignee_id: from, status: 'open' })
      .returning('id')
      .execute();
    const callback = await seedCallback(db, from, 60);

    const started = await start({
      kind: 'reassign-customers',
      from: { agentId: from },
      to: { pool: [p1, p2], strategy: 'least-loaded' },
    });
    expect(started).toMatchObject({ kind: 'reassign-customers', agentId: from });
    const done = await finished(started.id);
    expect(done.status).toBe('completed');
    // Loads 5 and 0 → 10 and 10 after the move.
    expect(done.summary).toMatchObject({
      customers: 15,
      records: 30,
      callbacks: 0,
      bySuccessor: { [p1]: 5, [p2]: 10 },
      conflicts: [],
    });
    expect(await customersOf(from)).toEqual([]);
    expect((await customersOf(p1)).length).toBe(10);
    expect((await customersOf(p2)).length).toBe(10);

    const records = await db
      .selectFrom('customer_records')
      .innerJoin('customers', 'customers.id', 'customer_records.customer_id')
      .select(['customer_records.id', 'customer_records.assignee_id', 'customer_records.status', 'customers.owner_id'])
      .where('customers.id', 'in', book)
      .execute();
    for (const r of records) {
      if (r.id === othersTask!.id) expect(r.assignee_id).toBe(p1);
      else if (r.status === 'open') expect(r.assignee_id).toBe(r.owner_id);
      else expect(r.assignee_id).toBe(from);
    }
    expect(records.filter((r) => r.status === 'done')).toHaveLength(15);
    const untouched = await db
      .selectFrom('customer_records')
      .select('assignee_id')
      .where('id', '=', elsewhere!.id)
      .executeTakeFirstOrThrow();
    expect(untouched.assignee_id).toBe(from);
    expect((await callbackRow(callback)).assignee_id).toBe(from);
    // Not a handover of the agent: its status was never touched.
    expect((await agentRow(from)).status).toBe('active');
    const history = await db.selectFrom('customer_history').selectAll().where('handover_id', '=', started.id).execute();
    expectEach(history, 15, { field: 'owner_id', from_value: from });

    await mailsTo((await agentRow(p1)).email, 'The administrator assigned 5 customers to you');
    await mailsTo((await agentRow(p2)).email, 'The administrator assigned 10 customers to you');
  });

  test('a list of customers of several owners to nobody: owners cleared, their open records unassigned, done ones kept', async () => {
    const { api, db } = env;
    const office = await seedOffice(db);
    const admin = await seedAgent(db, office, { role: 'admin' });
    const x = await seedAgent(db, office);
    const y = await seedAgent(db, office);
    await seedBook(db, office, x, 6, 2);
    await seedBook(db, office, y, 4, 2);
    const xs = (await customersOf(x)).map((c) => c.id);
    const ys = (await customersOf(y)).map((c) => c.id);
    const listed = [...xs.slice(0, 3), ...ys.slice(0, 2)];
    const token = await createToken(api, admin);

    const started = await start(
      { kind: 'reassign-customers', from: { customerIds: listed }, to: { unassign: true } },
      token,
    );
    expect(started.agentId).toBeNull();
    const done = await finished(started.id);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({ customers: 5, records: 5, callbacks: 0, bySuccessor: {}, conflicts: [] });

    const rows = await db.selectFrom('customers').select(['id', 'owner_id']).where('office_id', '=', office).execute();
    for (const c of rows) {
      if (listed.includes(c.id)) expect(c.owner_id).toBeNull();
      else expect(c.owner_id).toBe(xs.includes(c.id) ? x : y);
    }
    const records = await db
      .selectFrom('customer_records')
      .select(['customer_id', 'assignee_id', 'status'])
      .where('customer_id', 'in', [...xs, ...ys])
      .execute();
    for (const r of records) {
      const oldOwner = xs.includes(r.customer_id) ? x : y;
      if (listed.includes(r.customer_id) && r.status === 'open') expect(r.assignee_id).toBeNull();
      else expect(r.assignee_id).toBe(oldOwner);
    }
    expect((await agentRow(x)).status).toBe('active');
    expect((await agentRow(y)).status).toBe('active');
    // The office admin (who started it) hears it finished.
    await mailsTo((await agentRow(admin)).email, 'The handover of an agent is finished');
  });

  test('a customer already with its new owner is not "moved": no ledger row, no history, not counted', async () => {
    const { db } = env;
    const office = await seedOffice(db);
    const x = await seedAgent(db, office);
    const w = await seedAgent(db, office);
    await seedBook(db, office, x, 2, 1);
    await seedBook(db, office, w, 1, 1);
    await db
      .insertInto('customers')
      .values({ office_id: office, owner_id: null, name: 'nobody’s', kind: 'buyer' })
      .execute();
    const listed = (await db.selectFrom('customers').select('id').where('office_id', '=', office).execute()).map(
      (c) => c.id,
    );
    const toW = await start({ kind: 'reassign-customers', from: { customerIds: listed }, to: { agentId: w } });
    const done = await finished(toW.id);
    expect(done.summary).toMatchObject({ customers: 3, bySuccessor: { [w]: 3 } });
    const history = await db.selectFrom('customer_history').selectAll().where('handover_id', '=', toW.id).execute();
    expect(history).toHaveLength(3);
    expect(history.every((h) => h.from_value !== h.to_value)).toBe(true);

    const toNobody = await start({ kind: 'reassign-customers', from: { customerIds: listed }, to: { unassign: true } });
    expect((await finished(toNobody.id)).summary).toMatchObject({ customers: 4 });
    const again = await start({ kind: 'reassign-customers', from: { customerIds: listed }, to: { unassign: true } });
    const nothing = await finished(again.id);
    expect(nothing.status).toBe('completed');
    expect(nothing.summary).toMatchObject({ customers: 0, records: 0 });
    expect(await db.selectFrom('customer_history').select('seq').where('handover_id', '=', again.id).execute()).toEqual(
      [],
    );
  });

  test('403 for the whole request when one listed customer is in an office the admin does not administer; nothing moves', async () => {
    const { api, db } = env;
    const officeA = await seedOffice(db);
    const officeB = await seedOffice(db);
    const adminA = await seedAgent(db, officeA, { role: 'admin' });
    const xa = await seedAgent(db, officeA);
    const wa = await seedAgent(db, officeA);
    const xb = await seedAgent(db, officeB);
    await seedBook(db, officeA, xa, 4, 1);
    await seedBook(db, officeB, xb, 1, 1);
    const listed = [...(await customersOf(xa)).map((c) => c.id), (await customersOf(xb))[0]!.id];
    const token = await createToken(api, adminA);
    const before = await snapshot([officeA, officeB]);
    const handoversBefore = (await db.selectFrom('handovers').select('id').execute()).length;

    for (const to of [{ agentId: wa }, { unassign: true }]) {
      const body = { kind: 'reassign-customers', from: { customerIds: listed }, to };
      expectStatus(await api.call('POST', '/v1/handovers', body, token), 403);
      expectStatus(await api.call('POST', '/v1/handovers/preview', body, token), 403);
    }
    // Even as the org admin: customers of two offices are refused (one office at a time).
    expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'reassign-customers',
        from: { customerIds: listed },
        to: { unassign: true },
      }),
      422,
    );
    expect(await snapshot([officeA, officeB])).toEqual(before);
    expect((await db.selectFrom('handovers').select('id').execute()).length).toBe(handoversBefore);
  });

  test('422 for unknown customer IDs, for the org admin and an office admin alike', async () => {
    const { api, db } = env;
    const office = await seedOffice(db);
    const admin = await seedAgent(db, office, { role: 'admin' });
    const x = await seedAgent(db, office);
    const w = await seedAgent(db, office);
    await seedBook(db, office, x, 3, 0);
    const ids = (await customersOf(x)).map((c) => c.id);
    const body = {
      kind: 'reassign-customers',
      from: { customerIds: [...ids, 'no-such-customer', '00000000-0000-0000-0000-000000000000'] },
      to: { agentId: w },
    };
    const problem = expectStatus(await api.call('POST', '/v1/handovers', body), 422);
    expect(problem.detail).toContain('2 of the customers do not exist');
    expect(problem.detail).toContain('no-such-customer');
    expect(problem.errors).toEqual([{ path: 'body/from/customerIds', message: expect.any(String) }]);
    expectStatus(await api.call('POST', '/v1/handovers', body, await createToken(api, admin)), 422);
    expectStatus(await api.call('POST', '/v1/handovers/preview', body), 422);
    expect((await customersOf(x)).length).toBe(3);
  });

  test('a list of 5,000 customer IDs', async () => {
    const { db } = env;
    const office = await seedOffice(db);
    const x = await seedAgent(db, office);
    const w = await seedAgent(db, office);
    await seedBook(db, office, x, 5000, 2);
    const ids = (await customersOf(x)).map((c) => c.id);
    expect(ids).toHaveLength(5000);
    const started = await start({ kind: 'reassign-customers', from: { customerIds: ids }, to: { agentId: w } });
    const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated'], 120_000);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({ customers: 5000, records: 5000, bySuccessor: { [w]: 5000 } });
    expect(await customersOf(x)).toEqual([]);
    expect((await customersOf(w)).length).toBe(5000);
  }, 180_000);
});

describe('reassign-callbacks', () => {
  async function absentWithCallbacks() {
    const { db } = env;
    const office = await seedOffice(db);
    const admin = await seedAgent(db, office, { role: 'admin' });
    // Names (and so e-mail addresses) of their own: the SMTP server is shared by the whole file.
    const absentName = `Away Agent ${office.slice(0, 8)}`;
    const absent = await seedAgent(db, office, { name: absentName, status: 'absent' });
    const cover = await seedAgent(db, office, { name: `Cover Agent ${office.slice(0, 8)}` });
    const other = await seedAgent(db, office);
    const cb = {
      soon: await seedCallback(db, absent, 60),
      now: await seedCallback(db, absent, -5), // running now, not ended
      later: await seedCallback(db, absent, 3 * 24 * 60),
      ended: await seedCallback(db, absent, -120),
    };
    return { office, admin, absent, absentName, cover, other, cb };
  }

  test('every callback not yet ended goes to the cover, ended ones stay; the cover’s mail lists the times', async () => {
    const s = await absentWithCallbacks();
    const started = await start({ kind: 'reassign-callbacks', fromAgentId: s.absent, to: { agentId: s.cover } });
    const done = await finished(started.id);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({ customers: 0, records: 0, callbacks: 3, bySuccessor: {}, conflicts: [] });
    for (const id of [s.cb.soon, s.cb.now, s.cb.later]) {
      expect(await callbackRow(id)).toMatchObject({ assignee_id: s.cover, updated_by: 'org-admin' });
    }
    expect((await callbackRow(s.cb.ended)).assignee_id).toBe(s.absent);
    expect((await agentRow(s.absent)).status).toBe('absent');

    const [mail] = await mailsTo((await agentRow(s.cover)).email, 'The administrator assigned 3 callbacks to you');
    expect(mail!.text).toContain(s.absentName);
    for (const id of [s.cb.soon, s.cb.now, s.cb.later]) {
      const row = await callbackRow(id);
      expect(mail!.text).toContain(`${row.starts_at.toISOString()} ${row.name}`);
    }
    expect(mail!.text).not.toContain((await callbackRow(s.cb.ended)).starts_at.toISOString());
  });

  test('a cover who turned callbacks-assigned off gets no such mail; the admins still hear it finished', async () => {
    const { api } = env;
    const s = await absentWithCallbacks();
    const coverToken = await createToken(api, s.cover);
    const off = { enabled: false };
    const url = `/v1/agents/${s.cover}/notification-settings/callbacks-assigned`;
    expectStatus(await api.call('PUT', url, off, coverToken), 200);
    const started = await start({ kind: 'reassign-callbacks', fromAgentId: s.absent, to: { agentId: s.cover } });
    expect((await finished(started.id)).summary).toMatchObject({ callbacks: 3 });
    await mailsTo((await agentRow(s.admin)).email, `The handover of ${s.absentName} is finished`);
    const coverEmail = (await agentRow(s.cover)).email;
    expect(env.smtp.mails.filter((m) => recipients(m).includes(coverEmail))).toEqual([]);
  });

  test('with a window, only the callbacks inside it', async () => {
    const s = await absentWithCallbacks();
    const window = {
      from: new Date(Date.now() + 30 * 60_000).toISOString(),
      to: new Date(Date.now() + 3 * 60 * 60_000).toISOString(),
    };
    const started = await start({
      kind: 'reassign-callbacks',
      fromAgentId: s.absent,
      to: { pool: [s.cover, s.other], strategy: 'round-robin' },
      window,
    });
    const done = await finished(started.id);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({ callbacks: 1 });
    expect((await callbackRow(s.cb.soon)).assignee_id).toBe(s.cover);
    for (const id of [s.cb.now, s.cb.later, s.cb.ended]) expect((await callbackRow(id)).assignee_id).toBe(s.absent);
  });

  test('refusals: nobody to make them (unassign), a successor of another office, a window the wrong way round', async () => {
    const { api, db } = env;
    const s = await absentWithCallbacks();
    const elsewhere = await seedAgent(db, await seedOffice(db));
    const base = { kind: 'reassign-callbacks', fromAgentId: s.absent };
    const unassign = expectStatus(await api.call('POST', '/v1/handovers', { ...base, to: { unassign: true } }), 422);
    expect(unassign.errors).toEqual([{ path: 'body/to', message: expect.any(String) }]);
    expectStatus(await api.call('POST', '/v1/handovers/preview', { ...base, to: { unassign: true } }), 422);
    expectStatus(await api.call('POST', '/v1/handovers', { ...base, to: { agentId: elsewhere } }), 422);
    expectStatus(await api.call('POST', '/v1/handovers', { ...base, to: { agentId: s.absent } }), 422);
    const past = new Date(Date.now() - 60_000).toISOString();
    const future = new Date(Date.now() + 60_000).toISOString();
    expectStatus(
      await api.call('POST', '/v1/handovers', {
        ...base,
        to: { agentId: s.cover },
        window: { from: future, to: past },
      }),
      422,
    );
    expectStatus(await api.call('POST', '/v1/handovers', { ...base, to: { agentId: s.cover }, until: past }), 422);
    expect((await callbackRow(s.cb.soon)).assignee_id).toBe(s.absent);
  });
});

describe('cover (reassign-callbacks with until)', () => {
  test('waits until `until`, then hands back what is still with the cover and not ended; a second one ends when the agent is back', async () => {
    const { api, db } = env;
    const office = await seedOffice(db);
    const admin = await seedAgent(db, office, { role: 'admin' });
    const away = await seedAgent(db, office, { name: 'Sick Sato' });
    const cover = await seedAgent(db, office, { name: 'Cover Chan' });
    const someoneElse = await seedAgent(db, office);
    expectStatus(await api.call('PATCH', `/v1/agents/${away}`, { status: 'absent' }), 200);
    const back = await seedCallback(db, away, 60);
    const reassigned = await seedCallback(db, away, 90);
    const endsDuringCover = await seedCallback(db, away, 120);
    const ended = await seedCallback(db, away, -120);

    // `until` is close, so the test does not wait long; the hand-back is held at the worker until the
    // test has acted "meanwhile", so no machine is too slow for the cover to be seen waiting.
    const until = new Date(Date.now() + 2_000).toISOString();
    const started = await start({ kind: 'reassign-callbacks', fromAgentId: away, to: { agentId: cover }, until });
    const handBack = gate.hold('handBack', started.id);
    const waiting = await waitFor('the cover to wait', async () => {
      const body = expectStatus(await api.call('GET', `/v1/handovers/${started.id}`), 200);
      return body.phase === 'waiting' ? body : undefined;
    });
    expect(waiting).toMatchObject({ status: 'running', phase: 'waiting', finishedAt: null });
    for (const id of [back, reassigned, endsDuringCover]) expect((await callbackRow(id)).assignee_id).toBe(cover);
    expect((await callbackRow(ended)).assignee_id).toBe(away);
    await mailsTo((await agentRow(cover)).email, 'The administrator assigned 3 callbacks to you');

    // Meanwhile the cover passes one on, and one ends.
    const patched = expectStatus(
      await api.call(
        'PATCH',
        `/v1/callbacks/${reassigned}`,
        { assigneeId: someoneElse },
        await createToken(api, admin),
      ),
      200,
    );
    expect(patched.assigneeId).toBe(someoneElse);
    await db
      .updateTable('callbacks')
      .set({ starts_at: new Date(Date.now() - 120_000), ends_at: new Date(Date.now() - 60_000) })
      .where('id', '=', endsDuringCover)
      .execute();
    // Nothing went back before `until`: the hand-back is called only once the cover's timer fired.
    await handBack.reached;
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until));
    expect(expectStatus(await api.call('GET', `/v1/handovers/${started.id}`), 200).phase).toBe('waiting');
    expect((await callbackRow(back)).assignee_id).toBe(cover);
    handBack.release();

    const done = await waitForStatus(api, started.id, ['completed', 'failed', 'compensated'], 30_000);
    expect(done.status).toBe('completed');
    expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(until));
    expect((await callbackRow(back)).assignee_id).toBe(away);
    expect((await callbackRow(reassigned)).assignee_id).toBe(someoneElse);
    expect((await callbackRow(endsDuringCover)).assignee_id).toBe(cover);
    expect((await callbackRow(ended)).assignee_id).toBe(away);
    // The agent is still absent: a cover never changes its status.
    expect((await agentRow(away)).status).toBe('absent');
    await mailsTo((await agentRow(away)).email, '1 callbacks are back with you');
    await mailsTo((await agentRow(cover)).email, '1 callbacks went back to Sick Sato');

    // A second cover, far ahead: it ends as soon as the agent is active again.
    const second = await start({
      kind: 'reassign-callbacks',
      fromAgentId: away,
      to: { agentId: cover },
      until: new Date(Date.now() + 24 * 60 * 60_000).toISOString(),
    });
    await waitFor('the second cover to wait', async () => {
      const body = expectStatus(await api.call('GET', `/v1/handovers/${second.id}`), 200);
      return body.phase === 'waiting' ? body : undefined;
    });
    expect((await callbackRow(back)).assignee_id).toBe(cover);
    // While a cover runs, the agent cannot be handed over again.
    expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'reassign-callbacks',
        fromAgentId: away,
        to: { agentId: cover },
      }),
      409,
    );
    const returned = Date.now();
    expect(expectStatus(await api.call('PATCH', `/v1/agents/${away}`, { status: 'active' }), 200).status).toBe(
      'active',
    );
    const secondDone = await waitForStatus(api, second.id, ['completed', 'failed', 'compensated'], 15_000);
    expect(secondDone.status).toBe('completed');
    expect(Date.parse(secondDone.finishedAt) - returned).toBeLessThan(15_000);
    expect((await callbackRow(back)).assignee_id).toBe(away);
    await mailsTo((await agentRow(away)).email, '1 callbacks are back with you', 2);
  });
});

describe('POST /v1/handovers/preview for the reassign kinds', () => {
  test('reassign-customers: counts and split match the summary; nothing changes', async () => {
    const { api, db } = env;
    const office = await seedOffice(db);
    const x = await seedAgent(db, office);
    const p1 = await seedAgent(db, office);
    const p2 = await seedAgent(db, office);
    await seedBook(db, office, x, 20, 3);
    await seedBook(db, office, p2, 3, 0);
    const body = {
      kind: 'reassign-customers',
      from: { agentId: x },
      to: { pool: [p1, p2], strategy: 'least-loaded' },
    };
    const before = await snapshot([office]);
    const preview = expectStatus(await api.call('POST', '/v1/handovers/preview', body), 200);
    // Loads 0 and 3, 20 to share: 12 and 8 → 12 and 11.
    expect(preview).toEqual({
      blockedBy: [],
      counts: { customers: 20, unsubscribed: 2, trashed: 1, records: 40, callbacks: 0 },
      bySuccessor: { [p1]: 12, [p2]: 8 },
    });
    expect(await snapshot([office])).toEqual(before);

    const done = await finished((await start(body)).id);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({
      customers: preview.counts.customers,
      records: preview.counts.records,
      callbacks: preview.counts.callbacks,
      bySuccessor: preview.bySuccessor,
    });
  });

  test('reassign-customers by list and reassign-callbacks: counts match the summary; nothing changes', async () => {
    const { api, db } = env;
    const office = await seedOffice(db);
    const x = await seedAgent(db, office, { status: 'absent' });
    const w = await seedAgent(db, office);
    await seedBook(db, office, x, 10, 2);
    for (const minutes of [30, 60, -5, -300]) await seedCallback(db, x, minutes);
    const listed = (await customersOf(x)).slice(0, 7).map((c) => c.id);

    const byList = { kind: 'reassign-customers', from: { customerIds: listed }, to: { agentId: w } };
    const callbacks = { kind: 'reassign-callbacks', fromAgentId: x, to: { agentId: w } };
    const before = await snapshot([office]);
    const listPreview = expectStatus(await api.call('POST', '/v1/handovers/preview', byList), 200);
    const callbackPreview = expectStatus(await api.call('POST', '/v1/handovers/preview', callbacks), 200);
    expect(listPreview).toMatchObject({
      blockedBy: [],
      counts: { customers: 7, records: 7, callbacks: 0 },
      bySuccessor: { [w]: 7 },
    });
    expect(callbackPreview).toEqual({
      blockedBy: [],
      counts: { customers: 0, unsubscribed: 0, trashed: 0, records: 0, callbacks: 3 },
      bySuccessor: {},
    });
    expect(await snapshot([office])).toEqual(before);

    const listDone = await finished((await start(byList)).id);
    expect(listDone.summary).toMatchObject({
      customers: listPreview.counts.customers,
      records: listPreview.counts.records,
      bySuccessor: listPreview.bySuccessor,
    });
    const callbacksDone = await finished((await start(callbacks)).id);
    expect(callbacksDone.summary).toMatchObject({ callbacks: callbackPreview.counts.callbacks });
  });
});
