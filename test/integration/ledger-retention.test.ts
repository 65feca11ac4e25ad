/**
 * Ledger retention: the daily maintenance run removes the ledger rows of handovers finished more
 * than LEDGER_RETENTION_DAYS (30) ago, in batches; what they moved stays answerable from the
 * handover's summary and progress and from the customers' history.
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
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('ledger_retention');
  await env.startWorker();
});
afterAll(() => env?.close());

const DAY = 86_400_000;

/** A completed offboard of `customers` customers (2 records each, one open), finished `daysAgo` days ago. */
async function finishedOffboard(customers: number, daysAgo: number) {
  const { db, api } = env;
  const office = await seedOffice(db);
  const leaver = await seedAgent(db, office);
  const successor = await seedAgent(db, office);
  await seedBook(db, office, leaver, customers, 2);
  const { id } = expectStatus(
    await api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: leaver, to: { agentId: successor } }),
    202,
  );
  const done = await waitForStatus(api, id, ['completed', 'failed', 'compensated']);
  expect(done.status).toBe('completed');
  await db
    .updateTable('handovers')
    .set({ finished_at: new Date(Date.now() - daysAgo * DAY) })
    .where('id', '=', id)
    .execute();
  return { id, done };
}

const ledgerRows = async (handoverId: string) =>
  (await env.db.selectFrom('handover_moves').select('seq').where('handover_id', '=', handoverId).execute()).length;
const historyRows = async (handoverId: string) =>
  (await env.db.selectFrom('customer_history').select('seq').where('handover_id', '=', handoverId).execute()).length;

test('rows of handovers finished more than 30 days ago go, in batches; summary, progress and history stay', async () => {
  const { db, api } = env;
  // 5 customers + 5 open records each: 10 ledger rows per handover.
  const old = await finishedOffboard(5, 31);
  const older = await finishedOffboard(5, 400);
  const recent = await finishedOffboard(5, 29);
  for (const h of [old, older, recent]) expect(await ledgerRows(h.id)).toBe(10);
  // A running cover (waiting until `until`, its moves applied) is never touched: it has not finished.
  const office = await seedOffice(db);
  const away = await seedAgent(db, office);
  const cover = await seedAgent(db, office);
  await seedCallback(db, away, 60);
  const running = expectStatus(
    await api.call('POST', '/v1/handovers', {
      kind: 'reassign-callbacks',
      fromAgentId: away,
      to: { agentId: cover },
      until: new Date(Date.now() + 30 * DAY).toISOString(),
    }),
    202,
  );
  await waitFor('the cover to wait', async () => {
    const h = expectStatus(await api.call('GET', `/v1/handovers/${running.id}`), 200);
    return h.phase === 'waiting' ? h : undefined;
  });
  expect(await ledgerRows(running.id)).toBe(1);

  // Batches of 3: 20 rows go in 7 statements (the last one finds none left).
  const result = await env.temporal.client.workflow.execute('trashPurgeWorkflow', {
    taskQueue: env.env.TEMPORAL_TASK_QUEUE!,
    workflowId: `purge-${Date.now()}`,
    args: [3],
  });
  expect(result).toEqual({ deleted: 0, ledgerRowsDeleted: 20 });

  expect(await ledgerRows(old.id)).toBe(0);
  expect(await ledgerRows(older.id)).toBe(0);
  expect(await ledgerRows(recent.id)).toBe(10);
  expect(await ledgerRows(running.id)).toBe(1);
  // What the pruned handovers moved: still in their answer and in the customers' history.
  for (const h of [old, older]) {
    const now = expectStatus(await api.call('GET', `/v1/handovers/${h.id}`), 200);
    expect(now.summary).toEqual(h.done.summary);
    expect(now.progress).toEqual({ planned: 10, moved: 10, reverted: 0 });
    expect(await historyRows(h.id)).toBe(5);
  }

  // A second run finds nothing more.
  const again = await env.temporal.client.workflow.execute('trashPurgeWorkflow', {
    taskQueue: env.env.TEMPORAL_TASK_QUEUE!,
    workflowId: `purge-again-${Date.now()}`,
  });
  expect(again).toEqual({ deleted: 0, ledgerRowsDeleted: 0 });
  expectStatus(await api.call('POST', `/v1/handovers/${running.id}/cancel`), 202);
  await waitForStatus(api, running.id, ['compensated', 'cancelled', 'failed']);
});
