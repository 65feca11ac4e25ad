/**
 * Fault: the worker process is SIGKILLed in the middle of a move batch (a row lock holds the batch of
 * the last customers). A new worker process picks the move up after its heartbeat timeout (30 s)
 * and resumes from the heartbeat cursor.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedCallback,
  seedOffice,
  waitForStatus,
} from '../helpers/handover-env';
import { checkInvariants, killAllWorkers, lockLastCustomer, spawnWorker, waitForApplied } from './helpers';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('fault_crash_move', { MOVE_BATCH_SIZE: '100' });
});
afterAll(async () => {
  await killAllWorkers();
  await env?.close();
});

test('SIGKILL of the worker mid-batch: a new worker finishes, nothing moved twice or left behind, one mail each', async () => {
  const { db, api } = env;
  const office = await seedOffice(db);
  await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office);
  const a = await seedAgent(db, office);
  const b = await seedAgent(db, office);
  await seedBook(db, office, leaver, 1000, 2);
  await seedCallback(db, leaver, 30);
  const lock = await lockLastCustomer(env, leaver);
  const first = await spawnWorker(env);
  const { id } = expectStatus(
    await api.call('POST', '/v1/handovers', {
      kind: 'offboard',
      agentId: leaver,
      to: { pool: [a, b], strategy: 'round-robin' },
    }),
    202,
  );
  await waitForApplied(db, id, 500);
  await first.kill();
  await lock.release();
  await spawnWorker(env);

  const done = await waitForStatus(api, id, ['completed', 'compensated', 'failed'], 100_000);
  expect(done.status).toBe('completed');
  expect(done.summary).toMatchObject({ customers: 1000, callbacks: 1, bySuccessor: { [a]: 500, [b]: 500 } });
  await checkInvariants(db, id, leaver, { smtp: env.smtp, temporal: env.temporal.client });
  const assigned = env.smtp.mails.filter((m) => m.subject?.includes('500 customers'));
  expect(assigned).toHaveLength(2);
});
