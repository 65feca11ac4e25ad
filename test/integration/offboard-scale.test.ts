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

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('scale');
  await env.startWorker();
});
afterAll(() => env?.close());

/** Offboards an agent with `customers` customers to a pool of 3; returns the workflow's history length. */
async function offboard(customers: number) {
  const { db, api, temporal } = env;
  const office = await seedOffice(db);
  const leaver = await seedAgent(db, office);
  const pool = [await seedAgent(db, office), await seedAgent(db, office), await seedAgent(db, office)];
  await seedBook(db, office, leaver, customers, 2);
  for (let i = 0; i < customers / 20; i++) await seedCallback(db, leaver, 10 + i);
  const started = Date.now();
  const { id } = expectStatus(
    await api.call('POST', '/v1/handovers', {
      kind: 'offboard',
      agentId: leaver,
      to: { pool, strategy: 'round-robin' },
    }),
    202,
  );
  const done = await waitForStatus(api, id, ['completed', 'failed', 'compensated'], 120_000);
  const seconds = (Date.now() - started) / 1000;
  expect(done.status).toBe('completed');
  expect(done.summary.customers).toBe(customers);
  const history = await temporal.client.workflow.getHandle(id).fetchHistory();
  return { events: history.events?.length ?? 0, seconds };
}

test('history size does not depend on the number of customers (invariant 6)', async () => {
  const small = await offboard(20);
  const large = await offboard(20_000);
  console.log(
    `history events: 20 customers → ${small.events} (${small.seconds}s); 20,000 customers → ${large.events} (${large.seconds}s)`,
  );
  expect(large.events).toBeLessThanOrEqual(small.events + 10);
});
