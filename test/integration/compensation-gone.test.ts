/**
 * Compensation never hands anything back to an agent that is `leaving` or `offboarded` (invariant
 * 9, API.md): a `reassign-customers {customerIds}` holds no agent slot, so the old owner can leave
 * while it runs; cancelling it then keeps those customers with the successor, listed in
 * `summary.conflicts`.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CONFLICT_AGENT_GONE } from '../../src/activities/ledger';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, seedBook, waitForStatus } from '../helpers/handover-env';
import { lockLastCustomer, waitForApplied } from '../helpers/locks';
import { loads, seedTeam } from '../helpers/offboard-api';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('compensation_gone', { MOVE_BATCH_SIZE: '25', MOVE_LANES: '1' });
  await env.startWorker();
});
afterAll(() => env?.close());

test('cancelled after its old owner was offboarded: the moved customers stay with the successor, as conflicts', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 100, 0);
  const customers = await env.db
    .selectFrom('customers')
    .select('id')
    .where('owner_id', '=', t.leaver)
    .orderBy('id')
    .execute();
  expect(customers).toHaveLength(100);
  const lock = await lockLastCustomer(env, t.leaver); // the move stops before its last batch
  const body = {
    kind: 'reassign-customers',
    from: { customerIds: customers.map((c) => c.id) },
    to: { agentId: t.successor },
  };
  const started = expectStatus(await env.api.call('POST', '/v1/handovers', body), 202);
  await waitForApplied(env.db, started.id, 75);
  // The old owner leaves meanwhile (as its own offboard would make it).
  await env.db.updateTable('agents').set({ status: 'offboarded' }).where('id', '=', t.leaver).execute();
  await env.temporal.client.workflow.getHandle(started.id).cancel();
  await lock.release();

  const done = await waitForStatus(env.api, started.id, ['compensated', 'cancelled', 'failed', 'completed']);
  expect(done.status).toBe('compensated');
  const moved = await env.db
    .selectFrom('handover_moves')
    .select(['entity_id', 'conflict', 'reverted_at'])
    .where('handover_id', '=', started.id)
    .where('applied_at', 'is not', null)
    .execute();
  expect(moved.length).toBeGreaterThanOrEqual(75);
  for (const row of moved) expect([row.conflict, row.reverted_at]).toEqual([CONFLICT_AGENT_GONE, null]);
  expect(done.summary.conflicts).toHaveLength(moved.length);
  for (const c of done.summary.conflicts) expect(c).toMatchObject({ entity: 'customer', detail: CONFLICT_AGENT_GONE });
  // Nothing went back to the offboarded agent: it owns only what never moved.
  expect(await loads(env, [t.leaver, t.successor])).toEqual({
    [t.leaver]: 100 - moved.length,
    [t.successor]: moved.length,
  });
  const handedBack = await env.db
    .selectFrom('customer_history')
    .select('customer_id')
    .where('handover_id', '=', started.id)
    .where('to_value', '=', t.leaver)
    .execute();
  expect(handedBack).toHaveLength(0);
});

test('a finished compensated handover reports how many moves it reverted', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 60, 0);
  const lock = await lockLastCustomer(env, t.leaver);
  const started = expectStatus(
    await env.api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: t.leaver, to: { agentId: t.successor } }),
    202,
  );
  await waitForApplied(env.db, started.id, 25);
  await env.temporal.client.workflow.getHandle(started.id).cancel();
  await lock.release();
  const done = await waitForStatus(env.api, started.id, ['compensated', 'cancelled', 'failed', 'completed']);
  expect(done.status).toBe('compensated');
  const ledger = await env.db
    .selectFrom('handover_moves')
    .select(['applied_at', 'reverted_at'])
    .where('handover_id', '=', started.id)
    .execute();
  const applied = ledger.filter((r) => r.applied_at !== null).length;
  expect(applied).toBeGreaterThanOrEqual(25);
  expect(done.progress).toEqual({ planned: ledger.length, moved: applied, reverted: applied });
  expect(await loads(env, [t.leaver])).toEqual({ [t.leaver]: 60 });
});
