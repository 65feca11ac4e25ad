/**
 * Fault: the API process is SIGKILLed after it recorded a handover and before its workflow started.
 * Its connection to Temporal runs through a loopback proxy that is frozen before the request, so the
 * start can never arrive; the process is killed once the row is in. Then either the client retries
 * with the same Idempotency-Key and gets the one handover, or nobody ever retries and the integrity
 * sweep finds a handover without workflow, which the daily integrity run heals.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { START_GRACE_SECONDS } from '../../src/temporal/stuck-handovers';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, waitFor, waitForStatus } from '../helpers/handover-env';
import { agentStatus, loads, offboard } from '../helpers/offboard-api';
import { killAllServices, postHandover, spawnService } from '../helpers/processes';
import { tcpProxy } from '../helpers/tcp-proxy';
import { temporalAddress } from '../helpers/temporal';
import { checkInvariants, killAllWorkers, seedLeaverBook, spawnWorker } from './helpers';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('fault_api');
});
afterAll(async () => {
  await killAllServices();
  await killAllWorkers();
  await env?.close();
});

/**
 * POSTs `body` to an API process of its own and SIGKILLs that process once the handover row of
 * `agentId` is in: its Temporal connection is frozen first, so the workflow start never arrives and
 * the caller gets no answer. Resolves with the row's id.
 */
async function crashAfterRecording(agentId: string, body: unknown, idempotencyKey?: string): Promise<string> {
  const partition = await tcpProxy(Number(temporalAddress().split(':').pop()));
  const api = spawnService(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    ...env.env,
    DATABASE_URL: env.database.url,
    TEMPORAL_ADDRESS: partition.address,
    PORT: '0',
  });
  const url = (await api.waitFor(/API listening on (http:\/\/\S+)/))[1]!;
  partition.freeze();
  const answered = postHandover(url, body, idempotencyKey).then(
    () => true,
    () => false,
  );
  const row = await waitFor('the handover row', () =>
    env.db.selectFrom('handovers').select('id').where('agent_id', '=', agentId).executeTakeFirst(),
  );
  await api.kill();
  await partition.close();
  expect(await answered, 'the caller got no answer').toBe(false);
  await expect(env.temporal.client.workflow.getHandle(row.id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  return row.id;
}

test('the API dies between accepting a start and starting the workflow: the retry with the same key gets the one handover', async () => {
  const { db, api } = env;
  const s = await seedLeaverBook(env, 20);
  await spawnWorker(env);
  const body = offboard(s.leaver, { agentId: s.successor });
  const headers = { 'idempotency-key': `crash-${s.leaver}` };
  const lost = await crashAfterRecording(s.leaver, body, headers['idempotency-key']);

  // The client retries (against another API instance): the same handover, started now; again, still that one.
  const retried = expectStatus(await api.call('POST', '/v1/handovers', body, undefined, headers), 200);
  expect(retried.id).toBe(lost);
  const again = expectStatus(await api.call('POST', '/v1/handovers', body, undefined, headers), 200);
  expect(again.id).toBe(retried.id);
  const done = await waitForStatus(api, retried.id, ['completed', 'compensated', 'failed']);
  expect(done.status).toBe('completed');
  expect(await db.selectFrom('handovers').select('id').where('agent_id', '=', s.leaver).execute()).toHaveLength(1);
  await checkInvariants(db, retried.id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
});

test(
  'the API dies the same way and nobody retries: the sweep finds the handover without workflow, the daily run heals it (failed, the agent as it was)',
  async () => {
    const { db, api } = env;
    const s = await seedLeaverBook(env, 20);
    await spawnWorker(env);
    const body = offboard(s.leaver, { agentId: s.successor });
    const id = await crashAfterRecording(s.leaver, body);

    // The row says running; the API never marks the agent `leaving` (the workflow's first step does),
    // so the agent is as it was, its book untouched, but its one handover slot is taken.
    const row = () =>
      db.selectFrom('handovers').select(['status', 'phase', 'error']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(await row()).toEqual({ status: 'running', phase: 'validating', error: null });
    expect(await agentStatus(env, s.leaver)).toBe('active');
    const busy = expectStatus(await api.call('POST', '/v1/handovers', body), 409);
    expect(busy.detail).toContain(id);

    // The sweep lists it once the start grace has passed (a younger row may be one being started
    // right now): a handover recorded as running whose workflow is missing, and nothing else.
    const findings = await waitFor(
      'the integrity sweep to find the handover',
      async () => {
        const { items } = expectStatus(await api.call('GET', `/v1/integrity?officeId=${s.office}`), 200);
        return items.length > 0 ? items : undefined;
      },
      (START_GRACE_SECONDS + 60) * 1000,
    );
    expect(findings).toEqual([
      {
        kind: 'handover-not-running',
        entity: 'handover',
        id,
        officeId: s.office,
        detail: expect.stringContaining(`no workflow ${id} exists`),
      },
    ]);

    // The daily integrity run heals it: nothing had moved, the row fails saying why, the agent keeps its status.
    const run = await env.temporal.client.workflow.execute('integrityDigestWorkflow', {
      taskQueue: env.env.TEMPORAL_TASK_QUEUE!,
      workflowId: `digest-api-crash-${id}`,
      args: ['2026-02-01'],
    });
    expect(run.healed).toEqual([id]);
    expect(await row()).toEqual({
      status: 'failed',
      phase: 'done',
      error: expect.stringMatching(/no workflow .* exists.*reverted 0 moves/),
    });
    expect(expectStatus(await api.call('GET', `/v1/handovers/${id}`), 200)).toMatchObject({
      status: 'failed',
      phase: 'done',
      progress: { planned: 0, moved: 0, reverted: 0 },
      finishedAt: expect.any(String),
    });
    expect(await agentStatus(env, s.leaver)).toBe('active');
    expect(await loads(env, [s.leaver, s.successor])).toEqual({ [s.leaver]: 20, [s.successor]: 0 });
    expect(expectStatus(await api.call('GET', `/v1/integrity?officeId=${s.office}`), 200).items).toEqual([]);

    // The slot is free again: the handover, if still wanted, can be started anew and completes.
    const anew = expectStatus(await api.call('POST', '/v1/handovers', body), 202);
    expect(anew.id).not.toBe(id);
    expect((await waitForStatus(api, anew.id, ['completed', 'compensated', 'failed'])).status).toBe('completed');
    await checkInvariants(db, anew.id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
  },
  (START_GRACE_SECONDS + 150) * 1000,
);
