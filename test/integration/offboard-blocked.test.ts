import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedOffice,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { historySteps, timesScheduled } from '../helpers/history';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('blocked');
  await env.startWorker();
});
afterAll(() => env?.close());

async function blockedSetup(leadSources = 1) {
  const { db } = env;
  const office = await seedOffice(db);
  const admin = await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office, { name: 'Blocked Leaver' });
  const successor = await seedAgent(db, office);
  await seedBook(db, office, leaver, 5, 1);
  const keys: string[] = [];
  for (let i = 0; i < leadSources; i++) {
    const key = `portal-${office.slice(0, 8)}-${i}`;
    await db
      .insertInto('lead_sources')
      .values({ key, name: `Portal ${i}`, office_id: office, default_assignee_id: leaver })
      .execute();
    keys.push(key);
  }
  return { office, admin, leaver, successor, keys };
}

const reroute = (key: string, to: string) =>
  env.db.updateTable('lead_sources').set({ default_assignee_id: to }).where('key', '=', key).execute();

const agentStatus = async (id: string) =>
  (await env.db.selectFrom('agents').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
const customerOwners = async (ownerId: string) =>
  (await env.db.selectFrom('customers').select('id').where('owner_id', '=', ownerId).execute()).length;

const mailsTo = (agentEmailPart: string) =>
  env.smtp.mails.filter((m) => (m.to && 'text' in m.to ? m.to.text : '').includes(agentEmailPart));

describe('offboard blocked on lead sources', () => {
  test('waits, tells the admins once, goes on by itself at the next recheck after the lead source is rerouted', async () => {
    const { api, db } = env;
    const s = await blockedSetup(2);
    const started = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'offboard',
        agentId: s.leaver,
        to: { agentId: s.successor },
        options: { recheckIntervalSeconds: 1 },
      }),
      202,
    );
    const blocked = await waitForStatus(api, started.id, ['blocked']);
    expect(blocked.phase).toBe('blocked');
    expect(blocked.blockedBy.map((b: { leadSourceKey: string }) => b.leadSourceKey).sort()).toEqual(s.keys.sort());
    // Nothing moved while blocked; the agent is already `leaving`.
    const moves = await db.selectFrom('handover_moves').select('seq').where('handover_id', '=', started.id).execute();
    expect(moves).toHaveLength(0);
    const leaving = await db.selectFrom('agents').select('status').where('id', '=', s.leaver).executeTakeFirstOrThrow();
    expect(leaving.status).toBe('leaving');

    // A few rechecks pass (the first look and three rechecks), and still one mail.
    await waitFor('three rechecks', async () =>
      (await timesScheduled(env.temporal.client, started.id, 'findBlockers')) >= 4 ? true : undefined,
    );
    for (const key of s.keys) await reroute(key, s.admin);
    const done = await waitForStatus(api, started.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    const adminRow = await db.selectFrom('agents').select('email').where('id', '=', s.admin).executeTakeFirstOrThrow();
    const blockedMails = mailsTo(adminRow.email).filter((m) => m.subject?.startsWith('Blocked'));
    expect(blockedMails).toHaveLength(1);
    expect(blockedMails[0]!.text).toContain('Portal 0');
  });

  test('/recheck goes on at once, long before the next interval', async () => {
    const { api } = env;
    const s = await blockedSetup();
    const started = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'offboard',
        agentId: s.leaver,
        to: { agentId: s.successor },
        options: { recheckIntervalSeconds: 3600 },
      }),
      202,
    );
    await waitForStatus(api, started.id, ['blocked']);
    await reroute(s.keys[0]!, s.admin);
    expectStatus(await api.call('POST', `/v1/handovers/${started.id}/recheck`), 202);
    const done = await waitForStatus(api, started.id, ['completed', 'failed'], 15_000);
    expect(done.status).toBe('completed');
  });

  test('escalates to the admins after escalateAfterSeconds', async () => {
    const { api, db } = env;
    const s = await blockedSetup();
    const started = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'offboard',
        agentId: s.leaver,
        to: { agentId: s.successor },
        options: { recheckIntervalSeconds: 3600, escalateAfterSeconds: 1 },
      }),
      202,
    );
    await waitForStatus(api, started.id, ['blocked']);
    const adminRow = await db.selectFrom('agents').select('email').where('id', '=', s.admin).executeTakeFirstOrThrow();
    const deadline = Date.now() + 20_000;
    while (!mailsTo(adminRow.email).some((m) => m.subject?.startsWith('Still blocked')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(mailsTo(adminRow.email).filter((m) => m.subject?.startsWith('Still blocked'))).toHaveLength(1);
    expectStatus(await api.call('POST', `/v1/handovers/${started.id}/cancel`), 202);
    await waitForStatus(api, started.id, ['cancelled']);
  });

  test('cancel while blocked: nothing moved, the agent is active again', async () => {
    const { api, db } = env;
    const s = await blockedSetup();
    const started = expectStatus(
      await api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: s.leaver, to: { agentId: s.successor } }),
      202,
    );
    await waitForStatus(api, started.id, ['blocked']);
    expectStatus(await api.call('POST', `/v1/handovers/${started.id}/cancel`), 202);
    const cancelled = await waitForStatus(api, started.id, ['cancelled', 'failed', 'compensated']);
    expect(cancelled).toMatchObject({ status: 'cancelled', phase: 'done' });
    const agent = await db.selectFrom('agents').select('status').where('id', '=', s.leaver).executeTakeFirstOrThrow();
    expect(agent.status).toBe('active');
    const owned = await db.selectFrom('customers').select('id').where('owner_id', '=', s.leaver).execute();
    expect(owned).toHaveLength(5);
    // Cancelling twice is refused: it is over.
    expectStatus(await api.call('POST', `/v1/handovers/${started.id}/cancel`), 409);
    // And the agent can be handed over again.
    await db.updateTable('lead_sources').set({ default_assignee_id: null }).where('key', '=', s.keys[0]!).execute();
    const again = expectStatus(
      await api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: s.leaver, to: { agentId: s.successor } }),
      202,
    );
    expect((await waitForStatus(api, again.id, ['completed', 'failed'])).status).toBe('completed');
  });

  test('effectiveAt: waits on a durable timer (phase waiting, nothing touched), cancellable meanwhile', async () => {
    const { api, db } = env;
    const office = await seedOffice(db);
    const leaver = await seedAgent(db, office);
    const successor = await seedAgent(db, office);
    await seedBook(db, office, leaver, 3, 0);
    // An hour away: whatever the machine's speed, the test looks while it waits.
    const effectiveAt = new Date(Date.now() + 3_600_000).toISOString();
    const later = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'offboard',
        agentId: leaver,
        to: { agentId: successor },
        effectiveAt,
      }),
      202,
    );
    await waitFor('the timer to start', async () =>
      (await historySteps(env.temporal.client, later.id)).some((st) => st.what === 'timer started') ? true : undefined,
    );
    expect(expectStatus(await api.call('GET', `/v1/handovers/${later.id}`), 200)).toMatchObject({
      status: 'running',
      phase: 'waiting',
      progress: { planned: 0, moved: 0, reverted: 0 },
    });
    expect(await agentStatus(leaver)).toBe('active');
    expect(await customerOwners(leaver)).toBe(3);
    expectStatus(await api.call('POST', `/v1/handovers/${later.id}/cancel`), 202);
    expect((await waitForStatus(api, later.id, ['cancelled', 'failed'])).status).toBe('cancelled');
    expect(await agentStatus(leaver)).toBe('active');
    expect(await customerOwners(leaver)).toBe(3);
  });

  test('effectiveAt: nothing runs before it; at the effective time the offboard runs to the end', async () => {
    const { api, db } = env;
    const office = await seedOffice(db);
    const leaver = await seedAgent(db, office);
    const successor = await seedAgent(db, office);
    await seedBook(db, office, leaver, 3, 0);
    const effectiveAt = new Date(Date.now() + 2_000).toISOString();
    const started = expectStatus(
      await api.call('POST', '/v1/handovers', {
        kind: 'offboard',
        agentId: leaver,
        to: { agentId: successor },
        effectiveAt,
      }),
      202,
    );
    const done = await waitForStatus(api, started.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    // From the history, not the test's clock: the timer came first, and the first step that touches
    // anything (validate) was scheduled only after it fired, at or after effectiveAt.
    const steps = await historySteps(env.temporal.client, started.id);
    const index = (what: string) => steps.findIndex((st) => st.what === what);
    expect(index('timer started')).toBeGreaterThanOrEqual(0);
    expect(index('timer fired')).toBeGreaterThan(index('timer started'));
    expect(index('activity validate')).toBeGreaterThan(index('timer fired'));
    expect(steps[index('activity validate')]!.at).toBeGreaterThanOrEqual(Date.parse(effectiveAt));
    expect(steps.slice(0, index('timer fired')).map((st) => st.what)).toEqual(['activity msUntil', 'timer started']);
    expect(await agentStatus(leaver)).toBe('offboarded');
    expect(await customerOwners(successor)).toBe(3);
  });
});
