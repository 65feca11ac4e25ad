/**
 * Successors are checked again when planning starts, after any wait (API.md, "What moves"): pool
 * members no longer `active` are left out; a single successor, or a pool with nobody left, fails
 * the handover before anything moves, naming whom to pick instead, and the agent keeps its status.
 * Without a named successor, HR events take the office's active agents as they are then.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, seedAgent, seedBook, waitForStatus } from '../helpers/handover-env';
import { sendHrEvent } from '../helpers/hr';
import { agentStatus, loads, offboard, seedLeadSource, seedTeam } from '../helpers/offboard-api';

const HR_KEY = randomBytes(32);
let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('successors_after_wait', { HR_WEBHOOK_SECRET: `whsec_${HR_KEY.toString('base64')}` });
  await env.startWorker();
});
afterAll(() => env?.close());

const setStatus = (id: string, status: 'active' | 'absent' | 'offboarded') =>
  env.db.updateTable('agents').set({ status }).where('id', '=', id).execute();

/** Reroutes the blocking lead source to `to`; the change itself wakes the handover. */
const unblock = (key: string, office: string, to: string) =>
  env.api.call('PUT', `/v1/lead-sources/${key}`, { name: 'Portal', officeId: office, defaultAssigneeId: to });

test('a pool member who went on leave while it was blocked receives nothing; the others take everything', async () => {
  const t = await seedTeam(env);
  const other = await seedAgent(env.db, t.office);
  await seedBook(env.db, t.office, t.leaver, 12, 1);
  const key = await seedLeadSource(env, t.office, t.leaver);
  const body = offboard(t.leaver, { pool: [t.successor, other], strategy: 'round-robin' });
  const started = expectStatus(await env.api.call('POST', '/v1/handovers', body), 202);
  await waitForStatus(env.api, started.id, ['blocked']);
  await setStatus(other, 'absent');
  expectStatus(await unblock(key, t.office, t.admin.id), 200);
  const done = await waitForStatus(env.api, started.id, ['completed']);
  expect(done.summary.bySuccessor).toEqual({ [t.successor]: 12 });
  expect(await loads(env, [t.successor, other])).toEqual({ [t.successor]: 12, [other]: 0 });
});

test.each(['absent', 'offboarded'] as const)(
  'a single successor %s by then fails the handover before anything moves; the agent keeps its status',
  async (status) => {
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 5, 1);
    const key = await seedLeadSource(env, t.office, t.leaver);
    const started = expectStatus(
      await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor })),
      202,
    );
    await waitForStatus(env.api, started.id, ['blocked']);
    await setStatus(t.successor, status);
    expectStatus(await unblock(key, t.office, t.admin.id), 200);
    const failed = await waitForStatus(env.api, started.id, ['failed', 'completed', 'compensated']);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain(t.successor);
    expect(failed.error).toContain(status);
    expect(failed.error).toContain(t.admin.id); // whom to pick instead: the office's active agents
    expect(await agentStatus(env, t.leaver)).toBe('active');
    expect(await loads(env, [t.leaver])).toEqual({ [t.leaver]: 5 });
    const ledger = await env.db
      .selectFrom('handover_moves')
      .select('seq')
      .where('handover_id', '=', started.id)
      .execute();
    expect(ledger).toHaveLength(0);
  },
);

test('a pool with nobody left active fails before anything moves', async () => {
  const t = await seedTeam(env);
  await seedBook(env.db, t.office, t.leaver, 3, 0);
  const key = await seedLeadSource(env, t.office, t.leaver);
  const body = offboard(t.leaver, { pool: [t.successor], strategy: 'least-loaded' });
  const started = expectStatus(await env.api.call('POST', '/v1/handovers', body), 202);
  await waitForStatus(env.api, started.id, ['blocked']);
  await setStatus(t.successor, 'absent');
  expectStatus(await unblock(key, t.office, t.admin.id), 200);
  const failed = await waitForStatus(env.api, started.id, ['failed', 'completed', 'compensated']);
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatch(/nobody in the successor pool is still active/);
  expect(failed.error).toContain(t.admin.id); // whom to pick instead: the office's active agents
  expect(await agentStatus(env, t.leaver)).toBe('active');
  expect(await loads(env, [t.leaver])).toEqual({ [t.leaver]: 3 });
  const ledger = await env.db
    .selectFrom('handover_moves')
    .select('seq')
    .where('handover_id', '=', started.id)
    .execute();
  expect(ledger).toHaveLength(0);
});

test('an HR termination without a successor hands to the office as it is when planning starts', async () => {
  const t = await seedTeam(env);
  const ext = `emp-${randomUUID()}`;
  await env.db.updateTable('agents').set({ external_id: ext }).where('id', '=', t.leaver).execute();
  await seedBook(env.db, t.office, t.leaver, 10, 0);
  const key = await seedLeadSource(env, t.office, t.leaver);
  const res = await sendHrEvent(env.api, HR_KEY, { type: 'employee.terminated', employee: { externalId: ext } });
  const { handoverId } = expectStatus(res, 202);
  await waitForStatus(env.api, handoverId, ['blocked']);
  // Meanwhile one colleague goes on leave and a new one joins.
  await setStatus(t.successor, 'absent');
  await setStatus(t.admin.id, 'absent');
  const newcomer = await seedAgent(env.db, t.office);
  const stayer = await seedAgent(env.db, t.office);
  expectStatus(await unblock(key, t.office, stayer), 200);
  const done = await waitForStatus(env.api, handoverId, ['completed']);
  expect(Object.keys(done.summary.bySuccessor).sort()).toEqual([newcomer, stayer].sort());
  expect(await loads(env, [t.successor, t.admin.id, newcomer, stayer])).toEqual({
    [t.successor]: 0,
    [t.admin.id]: 0,
    [newcomer]: 5,
    [stayer]: 5,
  });
});
