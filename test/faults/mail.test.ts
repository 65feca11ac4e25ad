/**
 * Faults around mail: SMTP down while the worker process is SIGKILLed between delivery attempts;
 * SMTP down for a while then back; SMTP refusing one recipient for good.
 */

import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import { expectEach } from '../helpers/expect-each';
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
import { checkInvariants, killAllWorkers, spawnWorker, type WorkerProcess } from './helpers';

let env: HandoverEnv;
let worker: WorkerProcess;
beforeAll(async () => {
  env = await createHandoverEnv('fault_mail');
  worker = await spawnWorker(env);
});
afterAll(async () => {
  await killAllWorkers();
  await env?.close();
});

async function setup() {
  const { db } = env;
  const office = await seedOffice(db);
  const admin = await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office);
  const successor = await seedAgent(db, office);
  await seedBook(db, office, leaver, 12, 2);
  await seedCallback(db, leaver, 30);
  const email = (await db.selectFrom('agents').select('email').where('id', '=', successor).executeTakeFirstOrThrow())
    .email;
  return { office, admin, leaver, successor, email };
}

const offboard = async (leaver: string, successor: string) =>
  expectStatus(
    await env.api.call('POST', '/v1/handovers', { kind: 'offboard', agentId: leaver, to: { agentId: successor } }),
    202,
  ).id as string;

/** Attempts so far of the handover's customers-assigned mail (0 while it is not in the outbox yet). */
async function attempts(handoverId: string): Promise<number> {
  const row = await env.db
    .selectFrom('notification_outbox')
    .select(['attempts', 'status'])
    .where('handover_id', '=', handoverId)
    .where('kind', '=', 'customers-assigned')
    .executeTakeFirst();
  return row?.attempts ?? 0;
}

const mailsTo = (email: string) => env.smtp.mails.filter((m) => (m.to && 'text' in m.to ? m.to.text : '') === email);

test('SMTP down and the worker SIGKILLed while delivery is retried: a new worker delivers each mail once when SMTP is back', async () => {
  const s = await setup();
  env.smtp.down = true;
  try {
    const id = await offboard(s.leaver, s.successor);
    // Kill while the notify activity waits out its retry backoff (Temporal has it SCHEDULED, no worker runs
    // it); a kill mid-attempt would only add its 1-minute heartbeat timeout before the retry.
    const handle = env.temporal.client.workflow.getHandle(id);
    await waitFor(
      'a failed delivery waiting for its retry',
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'notify');
        const scheduled =
          pending?.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
        return scheduled && (pending?.attempt ?? 0) >= 2 ? true : undefined;
      },
      30_000,
    );
    expect(await attempts(id)).toBeGreaterThanOrEqual(1);
    await worker.kill();
    env.smtp.down = false;
    worker = await spawnWorker(env);
    const done = await waitForStatus(env.api, id, ['completed', 'compensated', 'failed'], 90_000);
    expect(done.status).toBe('completed');
    await checkInvariants(env.db, id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
    expect(mailsTo(s.email).filter((m) => m.subject?.includes('12 customers'))).toHaveLength(1);
  } finally {
    env.smtp.down = false;
  }
});

test('SMTP down for a while, then back: the handover waits in notifying and every mail goes out once, late', async () => {
  const s = await setup();
  env.smtp.down = true;
  let id: string;
  try {
    id = await offboard(s.leaver, s.successor);
    await waitFor('two failed deliveries', async () => ((await attempts(id)) >= 2 ? true : undefined), 30_000);
    const during = expectStatus(await env.api.call('GET', `/v1/handovers/${id}`), 200);
    expect(during).toMatchObject({ status: 'running', phase: 'notifying' });
    expect(mailsTo(s.email)).toHaveLength(0);
  } finally {
    env.smtp.down = false;
  }
  const done = await waitForStatus(env.api, id, ['completed', 'compensated', 'failed'], 60_000);
  expect(done.status).toBe('completed');
  expect(done.undeliveredMails).toEqual([]);
  const { outbox } = await checkInvariants(env.db, id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
  // customers-assigned and callbacks-assigned to the successor, handover-finished to the office's admin
  // (the org admin who started it has no mailbox).
  expectEach(outbox, 3, { status: 'sent' });
  expect(await attempts(id)).toBeGreaterThanOrEqual(3);
  // One mail per kind (customers, callbacks), none twice.
  expect(mailsTo(s.email)).toHaveLength(2);
  expect(mailsTo(s.email).filter((m) => m.subject?.includes('12 customers'))).toHaveLength(1);
});

test('SMTP refuses one recipient for good: the handover completes and says which mail was not delivered', async () => {
  const s = await setup();
  env.smtp.rejectRecipients.add(s.email);
  try {
    const id = await offboard(s.leaver, s.successor);
    const done = await waitForStatus(env.api, id, ['completed', 'compensated', 'failed'], 60_000);
    expect(done.status).toBe('completed');
    expect(done.summary).toMatchObject({ customers: 12, bySuccessor: { [s.successor]: 12 } });
    const { outbox } = await checkInvariants(env.db, id, s.leaver, { smtp: env.smtp, temporal: env.temporal.client });
    const failed = await env.db
      .selectFrom('notification_outbox')
      .select(['recipient_id', 'kind', 'status', 'last_error', 'attempts'])
      .where('handover_id', '=', id)
      .where('status', '=', 'failed')
      .orderBy('key')
      .execute();
    const refused = {
      recipient_id: s.successor,
      status: 'failed',
      last_error: expect.stringContaining('550'),
      attempts: 1, // a permanent refusal is not retried
    };
    expect(failed).toEqual([
      { ...refused, kind: 'callbacks-assigned' },
      { ...refused, kind: 'customers-assigned' },
    ]);
    expect(outbox.filter((r) => r.status === 'sent').length).toBeGreaterThan(0); // the others went out
    const view = expectStatus(await env.api.call('GET', `/v1/handovers/${id}`), 200);
    const undelivered = { recipientId: s.successor, error: expect.stringContaining('550') };
    expect(view.undeliveredMails).toEqual([
      { ...undelivered, kind: 'callbacks-assigned' },
      { ...undelivered, kind: 'customers-assigned' },
    ]);
    const listed = expectStatus(await env.api.call('GET', `/v1/handovers?agentId=${s.leaver}`), 200);
    expect(listed.items[0].undeliveredMails).toEqual(view.undeliveredMails);
  } finally {
    env.smtp.rejectRecipients.delete(s.email);
  }
});
