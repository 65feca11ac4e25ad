/**
 * Fault: the API dies between inserting the handover row and starting its workflow (its Temporal
 * client fails at that moment); the client retries with the same Idempotency-Key.
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApi } from '../helpers/api';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, waitForStatus } from '../helpers/handover-env';
import { checkInvariants, killAllWorkers, seedLeaverBook, spawnWorker } from './helpers';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('fault_api');
});
afterAll(async () => {
  await killAllWorkers();
  await env?.close();
});

test('the API dies between accepting a start and starting the workflow: the retry with the same key gets the one handover', async () => {
  const { db, api } = env;
  const s = await seedLeaverBook(env, 20);
  await spawnWorker(env);
  // An API whose Temporal client dies at the worst moment: after the row is in, before the workflow starts.
  const dying = await buildTestApi(db, withBrokenStart(env.temporal.client), env.env);
  const body = { kind: 'offboard', agentId: s.leaver, to: { agentId: s.successor } };
  const headers = { 'idempotency-key': `crash-${s.leaver}` };
  const lost = await dying.call('POST', '/v1/handovers', body, undefined, headers);
  expect(lost.statusCode).toBe(500);
  await dying.app.close();
  const rows = await db.selectFrom('handovers').select(['id', 'status']).where('agent_id', '=', s.leaver).execute();
  expect(rows).toHaveLength(1);

  // The client retries: the same handover, started now; another key is refused while it runs.
  const retried = expectStatus(await api.call('POST', '/v1/handovers', body, undefined, headers), 200);
  expect(retried.id).toBe(rows[0]!.id);
  const again = expectStatus(await api.call('POST', '/v1/handovers', body, undefined, headers), 200);
  expect(again.id).toBe(retried.id);
  const done = await waitForStatus(api, retried.id, ['completed', 'compensated', 'failed']);
  expect(done.status).toBe('completed');
  expect(await db.selectFrom('handovers').select('id').where('agent_id', '=', s.leaver).execute()).toHaveLength(1);
  await checkInvariants(db, retried.id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
});

/** `client` whose workflow.start fails as a dying process would (the request never reaches Temporal). */
function withBrokenStart(client: Client): Client {
  const bind = <T extends object>(target: T, key: string | symbol) => {
    const value = Reflect.get(target, key);
    return typeof value === 'function' ? value.bind(target) : value;
  };
  const workflow = new Proxy(client.workflow, {
    get: (target, key) =>
      key === 'start'
        ? async () => {
            throw new Error('the API process died before starting the workflow');
          }
        : bind(target, key),
  });
  return new Proxy(client, { get: (target, key) => (key === 'workflow' ? workflow : bind(target, key)) });
}
