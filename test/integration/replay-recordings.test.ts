/**
 * The replay guard's own scenarios: one handover (or heal, or digest) per branch that no other
 * test leaves a history of, each checked to really take its branch (read from its history, as
 * test/integration/replay.test.ts reads the fixtures). `RECORD_HISTORIES=1 npx vitest run
 * test/integration/replay-recordings.test.ts` records them under test/fixtures/histories.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { recheckSignal } from '../../src/workflows/definitions';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedBook,
  seedCallback,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { type Branch, branchesOf } from '../helpers/histories';
import { lockLastCustomer, waitForApplied } from '../helpers/locks';
import { agentStatus, loads, offboard, seedLeadSource, seedTeam } from '../helpers/offboard-api';

/** Test-only failures: each listed activity of a chosen handover fails for good. */
const failing = new Map<string, Set<string>>();
const injectFailures: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(input, next) {
      if (failing.get(String(input.args[0]))?.has(ctx.info.activityType)) {
        throw ApplicationFailure.nonRetryable(`injected failure of ${ctx.info.activityType}`, 'InjectedFailure');
      }
      return next(input);
    },
  },
});

let env: HandoverEnv;
beforeAll(async () => {
  // Small batches on one lane: a lock on the last customer stops the move just before its end.
  env = await createHandoverEnv('replay', { MOVE_BATCH_SIZE: '5', MOVE_LANES: '1' });
  await env.startWorker({ activity: [injectFailures] });
});
afterAll(() => env?.close());

const start = async (body: Record<string, unknown>) =>
  expectStatus(await env.api.call('POST', '/v1/handovers', body), 202);

/** The branches run `runId` (the latest by default) of workflow `id` took, once it has ended. */
async function branchesTaken(id: string, runId?: string): Promise<Set<Branch>> {
  const handle = env.temporal.client.workflow.getHandle(id, runId);
  await handle.result().catch(() => undefined); // failed and cancelled ones end too
  return branchesOf(await handle.fetchHistory());
}

/** Lead-source rechecks a run made so far: its findBlockers activities that completed. */
async function rechecksIn(id: string, runId: string): Promise<number> {
  const history = await env.temporal.client.workflow.getHandle(id, runId).fetchHistory();
  const findBlockers = new Set<string>();
  let n = 0;
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'findBlockers') {
      findBlockers.add(String(e.eventId));
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && findBlockers.has(String(done.scheduledEventId))) n++;
  }
  return n;
}

/** Reroutes the blocking lead source to `to`; the API's recheck signal wakes the handover. */
const unblock = async (key: string, office: string, to: string) =>
  expectStatus(
    await env.api.call('PUT', `/v1/lead-sources/${key}`, { name: 'Portal', officeId: office, defaultAssigneeId: to }),
    200,
  );

test('sweep: a record given to the old owner of an already moved customer is planned and moved by a second pass', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 12, 0);
  const [first] = await env.db
    .selectFrom('customers')
    .select('id')
    .where('owner_id', '=', t.leaver)
    .orderBy('id')
    .execute();
  const lock = await lockLastCustomer(env, t.leaver);
  const started = await start({
    kind: 'reassign-customers',
    from: { agentId: t.leaver },
    to: { agentId: t.successor },
  });
  await waitForApplied(env.db, started.id, 5); // planned, and the first batch has moved
  const late = expectStatus(
    await env.api.call('POST', `/v1/customers/${first!.id}/records`, {
      type: 'task',
      title: 'late task',
      assigneeId: t.leaver,
    }),
    201,
  );
  await lock.release();
  const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated']);
  expect(done).toMatchObject({ status: 'completed', summary: { customers: 12, records: 1 } });
  const record = await env.db
    .selectFrom('customer_records')
    .select('assignee_id')
    .where('id', '=', late.id)
    .executeTakeFirstOrThrow();
  expect(record.assignee_id).toBe(t.successor);
  expect(await branchesTaken(started.id)).toContain('sweep found work: a second move');
});

test('effectiveAt: the offboard waits on its timer, then validates and completes', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 3, 1);
  const effectiveAt = new Date(Date.now() + 3_000).toISOString();
  const started = await start(offboard(t.leaver, { agentId: t.successor }, { effectiveAt }));
  const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated', 'cancelled']);
  expect(done.status).toBe('completed');
  expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(effectiveAt));
  expect(await loads(env, [t.leaver, t.successor])).toEqual({ [t.leaver]: 0, [t.successor]: 3 });
  expect(await branchesTaken(started.id)).toContain('effectiveAt wait, then went on');
});

test('cover: nobody comes back, so the callbacks go back at `until`', async () => {
  const t = await seedTeam(env);
  expectStatus(await env.api.call('PATCH', `/v1/agents/${t.leaver}`, { status: 'absent' }), 200);
  const callback = await seedCallback(env.db, t.leaver, 60);
  const until = new Date(Date.now() + 3_000).toISOString();
  const started = await start({
    kind: 'reassign-callbacks',
    fromAgentId: t.leaver,
    to: { agentId: t.successor },
    until,
  });
  const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated'], 30_000);
  expect(done.status).toBe('completed');
  expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(until));
  const row = await env.db
    .selectFrom('callbacks')
    .select('assignee_id')
    .where('id', '=', callback)
    .executeTakeFirstOrThrow();
  expect(row.assignee_id).toBe(t.leaver);
  const branches = await branchesTaken(started.id);
  expect(branches).toContain('cover ended at until');
  expect(branches).not.toContain("cover ended by the agent's return");
});

test('blocked, escalated, then its only successor is gone: failed before anything moved', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 3, 0);
  const key = await seedLeadSource(env, t.office, t.leaver);
  const started = await start(offboard(t.leaver, { agentId: t.successor }, { options: { escalateAfterSeconds: 1 } }));
  await waitForStatus(env.api, started.id, ['blocked']);
  const handle = env.temporal.client.workflow.getHandle(started.id);
  await waitFor('the escalation', async () =>
    branchesOf(await handle.fetchHistory()).has('blocked, escalated') ? true : undefined,
  );
  await env.db.updateTable('agents').set({ status: 'absent' }).where('id', '=', t.successor).execute();
  await unblock(key, t.office, t.admin.id);
  const failed = await waitForStatus(env.api, started.id, ['failed', 'completed', 'compensated']);
  expect(failed.status).toBe('failed');
  expect(failed.error).toContain(t.successor);
  expect(await agentStatus(env, t.leaver)).toBe('active');
  const branches = await branchesTaken(started.id);
  for (const b of [
    'failed before anything moved',
    'blocked, bounded wait (bounded-blocked-wait)',
    'blocked, escalated',
    'blocked, woken by a recheck signal',
  ] as const) {
    expect(branches).toContain(b);
  }
});

test('a compensation that fails for good: the others still run, and the handover is failed, saying what is left', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 3, 0);
  // The API names the handover: its failures are set while the move is held, before `finish` can run.
  const lock = await lockLastCustomer(env, t.leaver);
  const started = await start(offboard(t.leaver, { agentId: t.successor }));
  failing.set(started.id, new Set(['finish', 'revert']));
  await lock.release();
  const failed = await waitForStatus(env.api, started.id, ['failed', 'completed', 'compensated']);
  expect(failed.status).toBe('failed');
  expect(failed.error).toContain('compensation could not finish');
  expect(failed.error).toContain('injected failure of revert');
  // The agent's release ran although the revert before it failed.
  expect(await agentStatus(env, t.leaver)).toBe('active');
  expect(await branchesTaken(started.id)).toContain('failed: compensation could not finish');
});

test('cancelled while moving: the batch in flight ends, then every move is reverted', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 12, 0);
  const lock = await lockLastCustomer(env, t.leaver);
  const started = await start(offboard(t.leaver, { agentId: t.successor }));
  await waitForApplied(env.db, started.id, 5);
  expectStatus(await env.api.call('POST', `/v1/handovers/${started.id}/cancel`), 202);
  await lock.release();
  const done = await waitForStatus(env.api, started.id, ['compensated', 'cancelled', 'failed', 'completed']);
  expect(done.status).toBe('compensated');
  expect(await loads(env, [t.leaver, t.successor])).toEqual({ [t.leaver]: 12, [t.successor]: 0 });
  expect(await branchesTaken(started.id)).toContain('cancelled while moving, every move reverted');
});

test('blocked long enough to continue as new: the next run goes on waiting, and completes when freed', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 3, 0);
  const key = await seedLeadSource(env, t.office, t.leaver);
  const started = await start(offboard(t.leaver, { agentId: t.successor }));
  await waitForStatus(env.api, started.id, ['blocked']);
  const handle = env.temporal.client.workflow.getHandle(started.id);
  const firstRun = (await handle.describe()).runId;
  // About 11 events a recheck: past 150 the run continues as new. Each recheck is awaited (a signal
  // sent while one is pending coalesces with it).
  for (let i = 0; i < 40 && (await handle.describe()).runId === firstRun; i++) {
    const before = await rechecksIn(started.id, firstRun);
    await handle.signal(recheckSignal);
    await waitFor('the recheck, or the next run', async () =>
      (await handle.describe()).runId !== firstRun || (await rechecksIn(started.id, firstRun)) > before
        ? true
        : undefined,
    );
  }
  expect((await handle.describe()).runId).not.toBe(firstRun);
  await waitForStatus(env.api, started.id, ['blocked']);
  await unblock(key, t.office, t.admin.id);
  const done = await waitForStatus(env.api, started.id, ['completed', 'failed', 'compensated']);
  expect(done.status).toBe('completed');
  expect(await branchesTaken(started.id, firstRun)).toContain('continued as new while blocked');
  const last = await branchesTaken(started.id);
  expect(last).toContain('resumed after continue-as-new');
  expect(last).toContain('completed');
});

test('the integrity digest heals an offboard terminated mid-move', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 12, 0);
  const lock = await lockLastCustomer(env, t.leaver);
  const started = await start(offboard(t.leaver, { agentId: t.successor }));
  await waitForApplied(env.db, started.id, 5);
  await env.temporal.client.workflow.getHandle(started.id).terminate('an operator pressed Terminate');
  await lock.release();
  const digestId = `digest-replay-${started.id}`;
  const run = await env.temporal.client.workflow.execute('integrityDigestWorkflow', {
    taskQueue: env.env.TEMPORAL_TASK_QUEUE!,
    workflowId: digestId,
    args: ['2026-02-01'],
  });
  expect(run.healed).toEqual([started.id]);
  expect(await loads(env, [t.leaver, t.successor])).toEqual({ [t.leaver]: 12, [t.successor]: 0 });
  expect(await branchesTaken(`heal:${started.id}`)).toContain('heal');
  expect(await branchesTaken(digestId)).toContain('integrity digest');
});

test('the daily purge: trash past its purgeAfter, then old ledger rows', async () => {
  const purgeId = `trash-purge-replay-${Date.now()}`;
  const run = await env.temporal.client.workflow.execute('trashPurgeWorkflow', {
    taskQueue: env.env.TEMPORAL_TASK_QUEUE!,
    workflowId: purgeId,
    args: [],
  });
  expect(run).toMatchObject({ deleted: expect.any(Number) });
  expect(await branchesTaken(purgeId)).toContain('trash purge, then ledger retention (ledger-retention)');
});
