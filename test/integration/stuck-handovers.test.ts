/**
 * Nothing stays stuck (invariant 10, API.md "Operations"): a handover recorded as running whose
 * workflow was terminated in the Web UI (mid-move, or while blocked) or never started is listed by
 * `GET /v1/integrity`; the daily integrity run heals it (the ledger's moves reverted, the agent's
 * status given back, the row `failed` with `error` saying so) and leaves running ones alone.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, seedBook, waitForStatus } from '../helpers/handover-env';
import { lockLastCustomer, waitForApplied } from '../helpers/locks';
import { agentStatus, offboard, seedLeadSource, seedTeam } from '../helpers/offboard-api';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('stuck_handovers', { MOVE_BATCH_SIZE: '5', MOVE_LANES: '1' });
  await env.startWorker();
});
afterAll(() => env?.close());

/** Owners, assignees and statuses of an office: the state a full revert must give back. */
async function officeState(office: string) {
  const { rows } = await sql<{ what: string }>`
    select 'customer ' || c.id || ' ' || coalesce(c.owner_id, '-') as what from customers c where c.office_id = ${office}
    union all
    select 'record ' || r.id || ' ' || coalesce(r.assignee_id, '-') from customer_records r
      join customers c on c.id = r.customer_id where c.office_id = ${office}
    union all
    select 'agent ' || a.id || ' ' || a.status from agents a where a.office_id = ${office}
    order by 1`.execute(env.db);
  return rows.map((r) => r.what);
}

const row = (id: string) =>
  env.db.selectFrom('handovers').select(['status', 'phase', 'error']).where('id', '=', id).executeTakeFirstOrThrow();

const notRunning = async () =>
  (expectStatus(await env.api.call('GET', '/v1/integrity'), 200).items as Array<{ kind: string; id: string }>)
    .filter((i) => i.kind === 'handover-not-running')
    .map((i) => i.id)
    .sort();

test('terminated mid-move, terminated while blocked, never started: found, healed, and running ones left alone', async () => {
  const { db, api, temporal } = env;

  // 1. An offboard terminated by an operator in the middle of its move.
  const midMove = await seedTeam(env);
  await seedBook(db, midMove.office, midMove.leaver, 30, 2);
  const midMoveBefore = await officeState(midMove.office);
  const lock = await lockLastCustomer(env, midMove.leaver);
  const moving = expectStatus(
    await api.call('POST', '/v1/handovers', offboard(midMove.leaver, { agentId: midMove.successor })),
    202,
  );
  await waitForApplied(db, moving.id, 10);
  await temporal.client.workflow.getHandle(moving.id).terminate('an operator pressed Terminate');
  await lock.release();

  // 2. An offboard terminated while blocked on a lead source.
  const blocked = await seedTeam(env);
  await seedLeadSource(env, blocked.office, blocked.leaver);
  const waiting = expectStatus(
    await api.call('POST', '/v1/handovers', {
      kind: 'offboard',
      agentId: blocked.leaver,
      to: { agentId: blocked.successor },
    }),
    202,
  );
  await waitForStatus(api, waiting.id, ['blocked']);
  await temporal.client.workflow.getHandle(waiting.id).terminate('an operator pressed Terminate');

  // 3. A row whose workflow start failed (an API that died between the insert and the start), older than the grace.
  const orphan = await seedTeam(env);
  const orphanId = `handover-orphan-${orphan.leaver}`;
  await db.updateTable('agents').set({ status: 'leaving' }).where('id', '=', orphan.leaver).execute();
  await db
    .insertInto('handovers')
    .values({
      id: orphanId,
      kind: 'offboard',
      agent_id: orphan.leaver,
      office_id: orphan.office,
      request: JSON.stringify(offboard(orphan.leaver, { agentId: orphan.successor })),
      request_hash: 'x',
      started_by: 'org-admin',
      status: 'running',
      phase: 'validating',
      agent_prev_status: 'active',
      created_at: new Date(Date.now() - 10 * 60_000),
    })
    .execute();

  // 4. A healthy blocked handover: not a finding, never healed.
  const healthy = await seedTeam(env);
  await seedLeadSource(env, healthy.office, healthy.leaver);
  const alive = expectStatus(
    await api.call('POST', '/v1/handovers', offboard(healthy.leaver, { agentId: healthy.successor })),
    202,
  );
  await waitForStatus(api, alive.id, ['blocked']);

  const stuck = [moving.id, waiting.id, orphanId].sort();
  expect(await notRunning()).toEqual(stuck);
  expect((await row(moving.id)).status).toBe('running');
  expect(await agentStatus(env, midMove.leaver)).toBe('leaving');

  const run = await temporal.client.workflow.execute('integrityDigestWorkflow', {
    taskQueue: env.env.TEMPORAL_TASK_QUEUE!,
    workflowId: `digest-stuck-${Date.now()}`,
    args: ['2026-02-01'],
  });
  expect([...run.healed].sort()).toEqual(stuck);

  // Each healed row failed, saying what happened and what was undone; its agent has its status back.
  const applied = await db
    .selectFrom('handover_moves')
    .select([
      (eb) => eb.fn.count<number>('applied_at').as('applied'),
      (eb) => eb.fn.count<number>('reverted_at').as('reverted'),
    ])
    .where('handover_id', '=', moving.id)
    .executeTakeFirstOrThrow();
  expect(Number(applied.applied)).toBeGreaterThanOrEqual(10);
  expect(Number(applied.reverted)).toBe(Number(applied.applied));
  expect(await row(moving.id)).toEqual({
    status: 'failed',
    phase: 'done',
    error: expect.stringMatching(new RegExp(`was terminated .*reverted ${applied.applied} moves`)),
  });
  expect(await officeState(midMove.office)).toEqual(midMoveBefore);
  expect(await row(waiting.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('reverted 0 moves') });
  expect(await row(orphanId)).toMatchObject({ status: 'failed', error: expect.stringContaining('no workflow') });
  for (const agent of [midMove.leaver, blocked.leaver, orphan.leaver])
    expect(await agentStatus(env, agent)).toBe('active');
  // The API answers the healed rows as they are now.
  expect(expectStatus(await api.call('GET', `/v1/handovers/${moving.id}`), 200)).toMatchObject({
    status: 'failed',
    progress: { reverted: Number(applied.applied) },
  });

  // Nothing is left to find; the healthy one still waits; a second run heals nothing.
  expect(await notRunning()).toEqual([]);
  expect((await row(alive.id)).status).toBe('blocked');
  const again = await temporal.client.workflow.execute('integrityDigestWorkflow', {
    taskQueue: env.env.TEMPORAL_TASK_QUEUE!,
    workflowId: `digest-stuck-again-${Date.now()}`,
    args: ['2026-02-01'],
  });
  expect(again.healed).toEqual([]);
  await temporal.client.workflow.getHandle(alive.id).cancel();
  expect((await waitForStatus(api, alive.id, ['cancelled', 'failed'])).status).toBe('cancelled');
});
