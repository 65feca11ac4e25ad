/**
 * Cancels that land mid-step (saga rules): a compensation sees the effects of the step it undoes.
 * A cancel while `validate` waits on a lock lets it finish, then gives the agent its status back:
 * no `cancelled` handover leaves its agent `leaving`.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, waitFor, waitForStatus } from '../helpers/handover-env';
import { holdLock } from '../helpers/locks';
import { agentStatus, offboard, seedTeam } from '../helpers/offboard-api';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('mid_step_cancel');
  await env.startWorker();
});
afterAll(() => env?.close());

test('cancelled while validate waits on a lock of the agent: the agent ends as it began, not leaving', async () => {
  const t = await seedTeam(env);
  // Another transaction holds the agent's row as an update would (the handover row's foreign key
  // still reads it): validate's update of the agent's status waits for it.
  const lock = await holdLock(env.database.url, 'select id from agents where id = $1 for no key update', [t.leaver]);
  const started = expectStatus(
    await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor })),
    202,
  );
  const handle = env.temporal.client.workflow.getHandle(started.id);
  await waitFor('validate to be waiting on the lock', async () => {
    const { raw } = await handle.describe();
    return raw.pendingActivities?.some((a) => a.activityType?.name === 'validate' && a.attempt === 1 && a.state === 2)
      ? true
      : undefined;
  });
  await handle.cancel();
  await waitFor('the cancel to be recorded', async () => {
    const { events } = await handle.fetchHistory();
    return events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes) ? true : undefined;
  });
  // While validate still waits, its compensation must not run: it could not see what validate is about to commit.
  const scheduled = async () =>
    ((await handle.fetchHistory()).events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name): name is string => !!name);
  for (let i = 0; i < 20; i++) {
    expect(await scheduled()).not.toContain('releaseAgent');
    await new Promise((r) => setTimeout(r, 100));
  }
  await lock.release();
  const done = await waitForStatus(env.api, started.id, ['cancelled', 'compensated', 'failed', 'completed']);
  expect(done.status).toBe('cancelled');
  expect(await agentStatus(env, t.leaver)).toBe('active');
  // Its slot is free: a new handover of the agent starts.
  const next = expectStatus(await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { unassign: true })), 202);
  await waitForStatus(env.api, next.id, ['completed']);
});
