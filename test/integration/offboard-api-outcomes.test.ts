/**
 * What an `offboard` started through the API ends with: pool strategies, `unassign`, the preview
 * against what then moves, and notification settings. Refusals and the rest of the API are in
 * offboard-api.test.ts.
 */

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createToken, expectStatus } from '../helpers/directory';
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
import {
  agentEmail,
  agentStatus,
  handoverIdsOfOffice,
  loads,
  mailsTo,
  offboard,
  openRecordsAwayFromOwner,
  seedLeadSource,
  seedTeam,
  workflowDone,
} from '../helpers/offboard-api';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('offboard-api-outcomes');
  await env.startWorker();
});
afterAll(() => env?.close());

const preview = (body: unknown, token?: string) => env.api.call('POST', '/v1/handovers/preview', body, token);

async function runToCompletion(body: unknown, token?: string) {
  const started = expectStatus(await env.api.call('POST', '/v1/handovers', body, token), 202);
  const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated', 'cancelled']);
  expect(done).toMatchObject({ status: 'completed', phase: 'done', error: null });
  await workflowDone(env, started.id);
  return done;
}

/** A pool of `n` active agents of `office`. */
const seedPool = async (office: string, n: number) => {
  const pool: string[] = [];
  for (let i = 0; i < n; i++) pool.push(await seedAgent(env.db, office));
  return pool;
};

describe('pool strategies', () => {
  test('round-robin over 3 successors splits the customers as evenly as possible; records follow', async () => {
    const t = await seedTeam(env);
    const pool = await seedPool(t.office, 3);
    await seedBook(env.db, t.office, t.leaver, 10, 3);
    const body = offboard(t.leaver, { pool, strategy: 'round-robin' });
    const planned = expectStatus(await preview(body, t.admin.token), 200);
    const done = await runToCompletion(body, t.admin.token);

    const after = await loads(env, [t.leaver, ...pool]);
    expect(after[t.leaver]).toBe(0);
    const counts = pool.map((id) => after[id]!);
    expect(counts.reduce((a, b) => a + b)).toBe(10);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(done.summary.bySuccessor).toEqual(Object.fromEntries(pool.map((id) => [id, after[id]])));
    expect(planned.bySuccessor).toEqual(done.summary.bySuccessor);
    expect(done.summary).toMatchObject({ customers: 10, records: 20, callbacks: 0, conflicts: [] });
    // Each moved customer's open records went to its new owner (invariant 3).
    expect(await openRecordsAwayFromOwner(env, pool)).toBe(0);
  });

  test('least-loaded fills the emptiest successors first, as the preview said just before', async () => {
    const t = await seedTeam(env);
    const pool = await seedPool(t.office, 4);
    const [heavy, mid, light, empty] = pool as [string, string, string, string];
    await seedBook(env.db, t.office, heavy, 15, 0);
    await seedBook(env.db, t.office, mid, 5, 0);
    await seedBook(env.db, t.office, light, 2, 0);
    await seedBook(env.db, t.office, t.leaver, 11, 2);
    const before = await loads(env, pool);
    const body = offboard(t.leaver, { pool, strategy: 'least-loaded' });
    const planned = expectStatus(await preview(body), 200);
    const done = await runToCompletion(body);

    const after = await loads(env, pool);
    // 2 + 11 + 5 = 18 over light, empty and mid: 6 each; heavy (15) gets nothing.
    expect(after).toEqual({ [heavy]: 15, [mid]: 6, [light]: 6, [empty]: 6 });
    expect(done.summary.bySuccessor).toEqual({ [mid]: 1, [light]: 4, [empty]: 6 });
    for (const id of pool) expect(after[id]! - before[id]!).toBe(done.summary.bySuccessor[id] ?? 0);
    // As even as possible: whoever received customers ends at most one above anyone else.
    for (const a of pool.filter((id) => done.summary.bySuccessor[id])) {
      for (const b of pool) expect(after[a]!).toBeLessThanOrEqual(after[b]! + 1);
    }
    expect(planned.bySuccessor).toEqual(done.summary.bySuccessor);
    expect(await openRecordsAwayFromOwner(env, pool)).toBe(0);
  });

  test('least-loaded with a remainder: loads end within one of each other', async () => {
    const t = await seedTeam(env);
    const pool = await seedPool(t.office, 3);
    await seedBook(env.db, t.office, pool[0]!, 4, 0);
    await seedBook(env.db, t.office, pool[1]!, 1, 0);
    await seedBook(env.db, t.office, t.leaver, 9, 1);
    const body = offboard(t.leaver, { pool, strategy: 'least-loaded' });
    const planned = expectStatus(await preview(body), 200);
    const done = await runToCompletion(body);
    const counts = Object.values(await loads(env, pool));
    expect(counts.reduce((a, b) => a + b)).toBe(14);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(planned.bySuccessor).toEqual(done.summary.bySuccessor);
  });
});

test('{unassign: true}: customers keep existing with no owner, open work unassigned, nobody told of customers', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 6, 3);
  const callback = await seedCallback(env.db, t.leaver, 30);
  const body = offboard(t.leaver, { unassign: true });
  const planned = expectStatus(await preview(body), 200);
  expect(planned.bySuccessor).toEqual({});
  const done = await runToCompletion(body);
  expect(done.summary).toMatchObject({ customers: 6, records: 12, callbacks: 1, bySuccessor: {} });

  const customers = await env.db
    .selectFrom('customers')
    .select(['owner_id', 'trashed_at'])
    .where('office_id', '=', t.office)
    .execute();
  expectEach(customers, 6, { owner_id: null });
  const records = await sql<{ status: string; assignee_id: string | null }>`
    select r.status, r.assignee_id from customer_records r join customers c on c.id = r.customer_id
    where c.office_id = ${t.office}`.execute(env.db);
  // seedBook: per customer one done record, the rest open.
  expectEach(
    records.rows.filter((r) => r.status === 'open'),
    12,
    { assignee_id: null },
  );
  expectEach(
    records.rows.filter((r) => r.status === 'done'),
    6,
    { assignee_id: t.leaver },
  );
  const cb = await env.db.selectFrom('callbacks').select('assignee_id').where('id', '=', callback).executeTakeFirst();
  expect(cb?.assignee_id).toBeNull();
  expect(await agentStatus(env, t.leaver)).toBe('offboarded');

  const outbox = await env.db
    .selectFrom('notification_outbox')
    .select('kind')
    .where('handover_id', '=', done.id)
    .execute();
  expect(outbox.map((m) => m.kind)).toEqual(['handover-finished']); // to the admin only
  expect(mailsTo(env, await agentEmail(env, t.admin.id))).toHaveLength(1);
});

describe('POST /v1/handovers/preview', () => {
  test('counts what the offboard then moves, lists blocking lead sources, changes nothing', async () => {
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 20, 3); // 20 customers: 2 unsubscribed, 1 trashed; 40 open records
    await seedBook(env.db, t.office, t.admin.id, 1, 0);
    const [other] = await env.db.selectFrom('customers').select('id').where('owner_id', '=', t.admin.id).execute();
    await env.db
      .insertInto('customer_records')
      .values({ customer_id: other!.id, type: 'task', title: 'help out', assignee_id: t.leaver, status: 'open' })
      .execute();
    await seedCallback(env.db, t.leaver, 60);
    await seedCallback(env.db, t.leaver, -5); // running now
    await seedCallback(env.db, t.leaver, -120); // ended: not counted, stays
    const key = await seedLeadSource(env, t.office, t.leaver, 'SUUMO');

    const body = offboard(t.leaver, { agentId: t.successor }, { options: { recheckIntervalSeconds: 3600 } });
    const planned = expectStatus(await preview(body, t.admin.token), 200);
    expect(planned).toEqual({
      blockedBy: [{ leadSourceKey: key, name: 'SUUMO' }],
      counts: { customers: 20, unsubscribed: 2, trashed: 1, records: 41, callbacks: 2 },
      bySuccessor: { [t.successor]: 20 },
    });
    // Nothing changed: no handover, the agent active, still owning everything, the lead source as it was.
    expect(await handoverIdsOfOffice(env, t.office)).toEqual([]);
    expect(await agentStatus(env, t.leaver)).toBe('active');
    expect((await loads(env, [t.leaver]))[t.leaver]).toBe(20);
    expect(expectStatus(await preview(body, t.admin.token), 200)).toEqual(planned);

    // The offboard blocks on the same lead source, then moves exactly what the preview counted.
    const started = expectStatus(await env.api.call('POST', '/v1/handovers', body, t.admin.token), 202);
    const blocked = await waitForStatus(env.api, started.id, ['blocked']);
    expect(blocked.blockedBy).toEqual(planned.blockedBy);
    await env.db.updateTable('lead_sources').set({ default_assignee_id: t.admin.id }).where('key', '=', key).execute();
    expectStatus(await env.api.call('POST', `/v1/handovers/${started.id}/recheck`, undefined, t.admin.token), 202);
    const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({
      customers: planned.counts.customers,
      records: planned.counts.records,
      callbacks: planned.counts.callbacks,
      bySuccessor: planned.bySuccessor,
    });
  });

  test('has the same refusals as POST /v1/handovers', async () => {
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 2, 1);
    const absent = await seedAgent(env.db, t.office, { status: 'absent' });
    const otherAdmin = await createToken(env.api, await seedAgent(env.db, await seedOffice(env.db), { role: 'admin' }));
    const ok = offboard(t.leaver, { agentId: t.successor });
    expectStatus(await preview(offboard(t.leaver, { agentId: absent })), 422);
    expectStatus(await preview(offboard(t.leaver, { agentId: t.leaver }), t.admin.token), 422);
    expectStatus(await preview(offboard(t.leaver, { pool: [t.successor, absent], strategy: 'round-robin' })), 422);
    expectStatus(await preview(ok, otherAdmin), 403);
    expectStatus(await preview(offboard('no-such-agent', { agentId: t.successor }), otherAdmin), 403);
    expectStatus(await preview(ok, await createToken(env.api, t.successor)), 403);
    expectStatus(await preview(offboard('no-such-agent', { agentId: t.successor })), 404);
    expectStatus(await preview({ kind: 'offboard', agentId: t.leaver }), 400);
    expectStatus(await preview(offboard(t.leaver, { pool: [], strategy: 'least-loaded' })), 400);
    expectStatus(await env.api.call('POST', '/v1/handovers/preview', ok, null), 401);
    expect(await handoverIdsOfOffice(env, t.office)).toEqual([]);
    expect(await agentStatus(env, t.leaver)).toBe('active');
  });
});

test('notification settings: a disabled handover-finished is not sent; customers-assigned is mandatory', async () => {
  const t = await seedTeam(env);
  const secondAdmin = await seedAgent(env.db, t.office, { role: 'admin' });
  await seedBook(env.db, t.office, t.leaver, 4, 1);
  await seedCallback(env.db, t.leaver, 45);
  await env.db
    .insertInto('notification_settings')
    .values([
      { agent_id: t.admin.id, kind: 'handover-finished', enabled: false },
      { agent_id: t.successor, kind: 'customers-assigned', enabled: false },
      { agent_id: t.successor, kind: 'callbacks-assigned', enabled: false },
    ])
    .execute();
  await runToCompletion(offboard(t.leaver, { agentId: t.successor }));

  const subjects = async (agentId: string) => mailsTo(env, await agentEmail(env, agentId)).map((m) => m.subject);
  expect(await subjects(t.admin.id)).toEqual([]);
  // The other admin, who disabled nothing, is told: the mail does go out.
  expect(await subjects(secondAdmin)).toEqual([expect.stringMatching(/^The handover of .* is finished$/)]);
  // Mandatory: sent although disabled. Optional callbacks-assigned: not sent.
  expect(await subjects(t.successor)).toEqual(['The administrator assigned 4 customers to you']);
});
