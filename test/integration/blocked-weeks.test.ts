/**
 * A handover blocked for weeks (invariant 10): every wait stays small in history. A blocked run
 * continues as new with the saga's state (the agent's release still its compensation, the
 * escalation deadline, a pending recheck), a lead source routed elsewhere wakes it at once, and a
 * cancel in a continued run compensates as in the first.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { recheckSignal } from '../../src/workflows/definitions';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, seedBook, waitFor, waitForStatus } from '../helpers/handover-env';
import { agentStatus, loads, offboard, seedLeadSource, seedTeam } from '../helpers/offboard-api';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('blocked_weeks');
  await env.startWorker();
});
afterAll(() => env?.close());

/** Every run of workflow `id`, oldest first, with its history. */
async function runsOf(id: string) {
  const runs = [];
  for await (const run of env.temporal.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(run);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  return Promise.all(
    runs.map(async (run) => {
      const history = await env.temporal.client.workflow.getHandle(id, run.runId).fetchHistory();
      const events = history.events ?? [];
      return { runId: run.runId, events };
    }),
  );
}

const historyOf = (id: string, runId: string) => env.temporal.client.workflow.getHandle(id, runId).fetchHistory();

/** Lead-source rechecks a run made: its completed findBlockers activities. */
function rechecksIn(events: Awaited<ReturnType<typeof runsOf>>[number]['events']): number {
  const scheduled = new Map<string, string>();
  let n = 0;
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const c = e.activityTaskCompletedEventAttributes;
    if (c && scheduled.get(String(c.scheduledEventId)) === 'findBlockers') n++;
  }
  return n;
}

// 300 here (about 25 runs); `BLOCKED_RECHECKS=10000` measures the figure (about 20 minutes).
const RECHECKS = Number(process.env.BLOCKED_RECHECKS ?? 300);

test(`blocked for ${RECHECKS} rechecks: runs continue as new, each under 200 events; rerouting the lead source wakes it`, async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 20, 1);
  const key = await seedLeadSource(env, t.office, t.leaver);
  const started = expectStatus(
    await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor })),
    202,
  );
  await waitForStatus(env.api, started.id, ['blocked']);
  const handle = env.temporal.client.workflow.getHandle(started.id);

  // Each signal waits for the previous recheck to be made: a signal sent while one is pending
  // coalesces into it, and a test that floods signals measures its own events, not the workflow's.
  const finished = new Map<string, number>(); // rechecks of runs that continued as new
  let current = '';
  const rechecksSoFar = async () => {
    const { runId } = await handle.describe();
    if (runId !== current) {
      if (current) finished.set(current, rechecksIn((await historyOf(started.id, current)).events ?? []));
      current = runId;
    }
    const now = rechecksIn((await historyOf(started.id, runId)).events ?? []);
    return [...finished.values()].reduce((a, b) => a + b, 0) + now;
  };
  let made = 0;
  while (made < RECHECKS) {
    await handle.signal(recheckSignal);
    const before = made;
    made = await waitFor(
      `recheck ${before + 1} to be made`,
      async () => {
        const n = await rechecksSoFar();
        return n > before ? n : undefined;
      },
      60_000,
      20,
    );
  }
  const runs = await waitFor('every run to be listed', async () => {
    const listed = await runsOf(started.id);
    return listed.reduce((sum, run) => sum + rechecksIn(run.events), 0) >= made ? listed : undefined;
  });
  expect(runs.length).toBeGreaterThan(1);
  for (const run of runs) expect(run.events.length, `run ${run.runId}`).toBeLessThan(200);
  console.log(
    `${made} rechecks in ${runs.length} runs; longest run ${Math.max(...runs.map((r) => r.events.length))} events`,
  );
  const live = expectStatus(await env.api.call('GET', `/v1/handovers/${started.id}`), 200);
  expect(live).toMatchObject({ status: 'blocked', phase: 'blocked', blockedBy: [{ leadSourceKey: key }] });
  expect(await agentStatus(env, t.leaver)).toBe('leaving');

  // Routed elsewhere: no recheck call, no interval (five minutes) — the change itself wakes it.
  const lead = { name: 'Portal', officeId: t.office, defaultAssigneeId: t.admin.id };
  expectStatus(await env.api.call('PUT', `/v1/lead-sources/${key}`, lead), 200);
  const done = await waitForStatus(env.api, started.id, ['completed'], 30_000);
  expect(done.summary.customers).toBe(20);
  expect(await loads(env, [t.leaver, t.successor])).toEqual({ [t.leaver]: 0, [t.successor]: 20 });
  expect(await agentStatus(env, t.leaver)).toBe('offboarded');
}, 3_600_000);

test('cancelled in a continued run: compensation still gives the agent its status back', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 5, 1);
  await seedLeadSource(env, t.office, t.leaver);
  const started = expectStatus(
    await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor })),
    202,
  );
  await waitForStatus(env.api, started.id, ['blocked']);
  const handle = env.temporal.client.workflow.getHandle(started.id);
  await waitFor('a continued run', async () => {
    await handle.signal(recheckSignal);
    return (await runsOf(started.id)).length > 1 ? true : undefined;
  });
  await waitForStatus(env.api, started.id, ['blocked']);
  expectStatus(await env.api.call('POST', `/v1/handovers/${started.id}/cancel`), 202);
  await waitForStatus(env.api, started.id, ['cancelled']);
  expect(await agentStatus(env, t.leaver)).toBe('active');
  expect(await loads(env, [t.leaver])).toEqual({ [t.leaver]: 5 });
});
