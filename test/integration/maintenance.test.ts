import { sql } from 'kysely';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findIntegrityIssues } from '../../src/db/integrity';
import { ensureSchedules, maintenanceSchedules } from '../../src/worker/schedules';
import { createToken, expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedCallback,
  seedOffice,
  waitFor,
} from '../helpers/handover-env';

let env: HandoverEnv;
let taskQueue: string;
beforeAll(async () => {
  env = await createHandoverEnv('maintenance');
  taskQueue = env.env.TEMPORAL_TASK_QUEUE!;
  await env.startWorker();
});
afterAll(() => env?.close());

const DAY = 86_400_000;

async function seedCustomer(officeId: string, ownerId: string | null, trash?: { purgeAfter: Date }) {
  return (
    await env.db
      .insertInto('customers')
      .values({
        office_id: officeId,
        owner_id: ownerId,
        name: 'c',
        kind: 'buyer',
        trashed_at: trash ? new Date(trash.purgeAfter.getTime() - 14 * DAY) : null,
        purge_after: trash?.purgeAfter ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
}

describe('trash purge', () => {
  test('deletes only trashed customers whose purgeAfter has passed, in batches; records cascade, history stays', async () => {
    const { db } = env;
    const office = await seedOffice(db);
    const owner = await seedAgent(db, office);
    const expired = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        seedCustomer(office, owner, { purgeAfter: new Date(Date.now() - (i + 1) * 60_000) }),
      ),
    );
    const notYet = await seedCustomer(office, owner, { purgeAfter: new Date(Date.now() + DAY) });
    const live = await seedCustomer(office, owner);
    for (const id of [...expired, notYet, live]) {
      await db
        .insertInto('customer_records')
        .values({ customer_id: id, type: 'task', title: 't', assignee_id: owner })
        .execute();
      await db
        .insertInto('customer_history')
        .values({ customer_id: id, field: 'trashed', from_value: 'false', to_value: 'true', actor: 'test' })
        .execute();
    }
    const callback = await seedCallback(db, owner, 60);
    await db.updateTable('callbacks').set({ customer_id: expired[0]! }).where('id', '=', callback).execute();

    // Batches of 2: three statements for five customers.
    const result = await env.temporal.client.workflow.execute('trashPurgeWorkflow', {
      taskQueue,
      workflowId: `purge-${Date.now()}`,
      args: [2],
    });
    expect(result).toEqual({ deleted: 5, ledgerRowsDeleted: 0 }); // no handover finished 30 days ago here

    const left = await db.selectFrom('customers').select('id').where('office_id', '=', office).orderBy('id').execute();
    expect(left.map((c) => c.id).sort()).toEqual([notYet, live].sort());
    const records = await db
      .selectFrom('customer_records')
      .select('customer_id')
      .where('assignee_id', '=', owner)
      .execute();
    expect(records.map((r) => r.customer_id).sort()).toEqual([notYet, live].sort());
    // A callback outlives its customer, without it.
    expect(
      await db.selectFrom('callbacks').select('customer_id').where('id', '=', callback).executeTakeFirst(),
    ).toEqual({
      customer_id: null,
    });
    // History is kept forever.
    const history = await db
      .selectFrom('customer_history')
      .select('customer_id')
      .where('customer_id', 'in', expired)
      .execute();
    expect(history).toHaveLength(5);

    // Nothing left to purge: a second run deletes nothing.
    expect(
      await env.temporal.client.workflow.execute('trashPurgeWorkflow', {
        taskQueue,
        workflowId: `purge-again-${Date.now()}`,
      }),
    ).toEqual({ deleted: 0, ledgerRowsDeleted: 0 });
  });
});

describe('schedules', () => {
  test('created once; a second setup leaves them as they are', async () => {
    const { client } = env.temporal;
    const ids = maintenanceSchedules(taskQueue).map((s) => s.scheduleId);
    try {
      expect(await ensureSchedules(client, { taskQueue })).toEqual({ created: ids, existing: [] });
      expect(await ensureSchedules(client, { taskQueue })).toEqual({ created: [], existing: ids });
      const purge = await client.schedule.getHandle(ids[0]!).describe();
      expect(purge.action).toMatchObject({ type: 'startWorkflow', workflowType: 'trashPurgeWorkflow', taskQueue });
      expect(purge.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }] });
      const digest = await client.schedule.getHandle(ids[1]!).describe();
      expect(digest.action).toMatchObject({ workflowType: 'integrityDigestWorkflow', taskQueue });
    } finally {
      for (const id of ids)
        await client.schedule
          .getHandle(id)
          .delete()
          .catch(() => undefined);
    }
  });
});

describe('integrity', () => {
  let officeA: string;
  let officeB: string;
  let adminA: { id: string; token: string };
  let adminB: string;
  let plainToken: string;
  let gone: string;
  let absent: string;
  let leavingAlone: string;
  let leavingWithHandover: string;

  beforeAll(async () => {
    const { db, api } = env;
    officeA = await seedOffice(db, 'Integrity A');
    officeB = await seedOffice(db, 'Integrity B');
    const a = await seedAgent(db, officeA, { role: 'admin', name: 'Admin A' });
    adminA = { id: a, token: await createToken(api, a) };
    adminB = await seedAgent(db, officeB, { role: 'admin', name: 'Admin B', locale: 'ja' });
    plainToken = await createToken(api, await seedAgent(db, officeA));

    // Office A: an offboarded agent still owning things.
    gone = await seedAgent(db, officeA, { status: 'offboarded', name: 'Gone' });
    const customer = await seedCustomer(officeA, gone);
    await db
      .insertInto('customer_records')
      .values([
        { customer_id: customer, type: 'task', title: 'open', assignee_id: gone, status: 'open' },
        { customer_id: customer, type: 'task', title: 'done', assignee_id: gone, status: 'done' },
      ])
      .execute();
    await seedCallback(db, gone, 60);
    await seedCallback(db, gone, -120); // ended: fine
    // Office B: a lead source routed to an absent agent, a leaving agent with no handover, and one with a running handover.
    absent = await seedAgent(db, officeB, { status: 'absent' });
    await db
      .insertInto('lead_sources')
      .values({ key: 'portal-b', name: 'Portal B', office_id: officeB, default_assignee_id: absent })
      .execute();
    leavingAlone = await seedAgent(db, officeB, { status: 'leaving' });
    // A handover recorded as blocked an hour ago whose workflow never started: a finding of its own
    // (not a `leaving` agent without handover), healed by the daily run.
    leavingWithHandover = await seedAgent(db, officeB, { status: 'leaving' });
    await db
      .insertInto('handovers')
      .values({
        id: `h-${leavingWithHandover}`,
        agent_prev_status: 'active',
        created_at: new Date(Date.now() - 3_600_000),
        kind: 'offboard',
        agent_id: leavingWithHandover,
        office_id: officeB,
        request: JSON.stringify({}),
        request_hash: 'x',
        started_by: 'org-admin',
        status: 'blocked',
        phase: 'blocked',
      })
      .execute();
  });

  test('findIntegrityIssues lists each kind of finding, and nothing else', async () => {
    const issues = await findIntegrityIssues(env.db);
    expect(issues.map((i) => [i.kind, i.entity, i.officeId])).toEqual([
      ['owner-offboarded', 'customer', officeA],
      ['assignee-offboarded', 'record', officeA],
      ['assignee-offboarded', 'callback', officeA],
      ['default-assignee-inactive', 'lead-source', officeB],
      ['leaving-without-handover', 'agent', officeB],
    ]);
    expect(issues.find((i) => i.entity === 'lead-source')).toMatchObject({
      id: 'portal-b',
      detail: expect.stringContaining('absent'),
    });
    expect(issues.find((i) => i.entity === 'agent')?.id).toBe(leavingAlone);
    expect(await findIntegrityIssues(env.db, { officeId: officeB })).toHaveLength(2);
  });

  test('GET /v1/integrity: the org admin sees all, an office admin its office, anyone else 403', async () => {
    const { api } = env;
    const all = expectStatus(await api.call('GET', '/v1/integrity'), 200);
    expect(all.items).toHaveLength(6);
    expect(all.items[5]).toEqual({
      kind: 'handover-not-running',
      entity: 'handover',
      id: `h-${leavingWithHandover}`,
      detail: expect.stringContaining('no workflow'),
      officeId: officeB,
    });
    expect(all.items[0]).toEqual({
      kind: 'owner-offboarded',
      entity: 'customer',
      id: expect.any(String),
      detail: expect.stringContaining(gone),
      officeId: officeA,
    });
    expect(expectStatus(await api.call('GET', `/v1/integrity?officeId=${officeB}`), 200).items).toHaveLength(3);
    const mine = expectStatus(await api.call('GET', '/v1/integrity', undefined, adminA.token), 200);
    expect(mine.items.map((i: { officeId: string }) => i.officeId)).toEqual([officeA, officeA, officeA]);
    expectStatus(await api.call('GET', `/v1/integrity?officeId=${officeB}`, undefined, adminA.token), 403);
    expectStatus(await api.call('GET', '/v1/integrity', undefined, plainToken), 403);
    expectStatus(await api.call('GET', '/v1/integrity', undefined, null), 401);
  });

  test('the daily digest mails each office’s admins once per day', async () => {
    const { client } = env.temporal;
    const run = (date: string, suffix: string) =>
      client.workflow.execute('integrityDigestWorkflow', {
        taskQueue,
        workflowId: `digest-${date}-${suffix}`,
        args: [date],
      });
    const before = env.smtp.mails.length;
    // The workflow-less handover is healed first: failed, its agent active again; the digest lists what is left.
    expect(await run('2026-01-01', 'a')).toEqual({ issues: 5, sent: 2, healed: [`h-${leavingWithHandover}`] });
    const healed = await env.db
      .selectFrom('handovers')
      .select(['status', 'error'])
      .where('id', '=', `h-${leavingWithHandover}`)
      .executeTakeFirstOrThrow();
    expect(healed).toEqual({
      status: 'failed',
      error: expect.stringContaining('the integrity sweep reverted 0 moves'),
    });
    const agent = await env.db
      .selectFrom('agents')
      .select('status')
      .where('id', '=', leavingWithHandover)
      .executeTakeFirstOrThrow();
    expect(agent.status).toBe('active');
    const digests = (m: ParsedMail) => /^(Integrity check|整合性チェック)/.test(m.subject ?? '');
    const mails = await waitFor('the two digests', async () => {
      const found = env.smtp.mails.slice(before).filter(digests);
      return found.length >= 2 ? found : undefined;
    });
    const to = (m: (typeof mails)[number]) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text;
    const mailA = mails.find((m) => to(m)?.startsWith('admin.a'))!;
    const mailB = mails.find((m) => to(m)?.startsWith('admin.b'))!;
    expect(mailA.subject).toBe('Integrity check 2026-01-01: 3 issues');
    expect(mailA.text).toContain('[owner-offboarded]');
    expect(mailA.text).not.toContain('portal-b');
    expect(mailB.subject).toBe('整合性チェック 2026-01-01: 2件の問題');
    expect(mailB.text).toContain('portal-b');

    // The same day again sends nothing; the next day sends again.
    expect(await run('2026-01-01', 'b')).toEqual({ issues: 5, sent: 0, healed: [] });
    expect(await run('2026-01-02', 'a')).toEqual({ issues: 5, sent: 2, healed: [] });
    const { rows } = await sql<{ key: string; status: string }>`
      select key, status from notification_outbox where key like 'integrity:%' order by key`.execute(env.db);
    expect(rows).toEqual([
      { key: `integrity:2026-01-01:${[adminA.id, adminB].sort()[0]}`, status: 'sent' },
      { key: `integrity:2026-01-01:${[adminA.id, adminB].sort()[1]}`, status: 'sent' },
      { key: `integrity:2026-01-02:${[adminA.id, adminB].sort()[0]}`, status: 'sent' },
      { key: `integrity:2026-01-02:${[adminA.id, adminB].sort()[1]}`, status: 'sent' },
    ]);
  });
});
