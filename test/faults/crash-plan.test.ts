/**
 * Fault: the worker process is SIGKILLed while planning (a table lock makes the plan wait); a new
 * worker picks the plan up after its heartbeat timeout (30 s).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, waitForStatus } from '../helpers/handover-env';
import {
  checkInvariants,
  holdLock,
  killAllWorkers,
  ledgerCounts,
  seedLeaverBook,
  spawnWorker,
  waitForBackend,
} from './helpers';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('fault_crash_plan', { MOVE_BATCH_SIZE: '100' });
});
afterAll(async () => {
  await killAllWorkers();
  await env?.close();
});

test('SIGKILL of the worker while planning: a new worker plans once and finishes', async () => {
  const { db, api } = env;
  const s = await seedLeaverBook(env, 300);
  const lock = await holdLock(env.database.url, 'lock table handover_moves in share row exclusive mode');
  const first = await spawnWorker(env);
  const { id } = expectStatus(
    await api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: s.leaver, to: { agentId: s.successor } }),
    202,
  );
  await waitForBackend(db, '%insert into handover_moves%'); // the plan waits on the lock
  await first.kill();
  expect((await ledgerCounts(db, id)).planned).toBe(0);
  await lock.release();
  await spawnWorker(env);

  const done = await waitForStatus(api, id, ['completed', 'compensated', 'failed'], 100_000);
  expect(done.status).toBe('completed');
  expect(done.summary).toMatchObject({ customers: 300, records: 300, callbacks: 1 });
  expect(await ledgerCounts(db, id)).toEqual({ planned: 601, applied: 601, reverted: 0 });
  await checkInvariants(db, id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
});
