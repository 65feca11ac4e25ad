import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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

const KEY = randomBytes(32);
const SECRET = `whsec_${KEY.toString('base64')}`;

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('hr-events', { HR_WEBHOOK_SECRET: SECRET });
  await env.startWorker();
});
afterAll(() => env?.close());

const sign = (id: string, timestamp: number, body: string, key = KEY) =>
  `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

interface Send {
  id?: string;
  timestamp?: number;
  signature?: string | null;
}

/** POSTs an HR event, signed unless told otherwise, with no bearer token. */
function send(event: unknown, opts: Send = {}) {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
  };
  const signature = opts.signature === undefined ? sign(id, timestamp, body) : opts.signature;
  if (signature !== null) headers['webhook-signature'] = signature;
  return env.api.call('POST', '/v1/hr/events', body, null, headers);
}

let n = 0;
async function office(): Promise<{ id: string; ext: string }> {
  const id = await seedOffice(env.db);
  const ext = `OFF-${++n}-${randomUUID().slice(0, 8)}`;
  await env.db.updateTable('offices').set({ external_id: ext }).where('id', '=', id).execute();
  return { id, ext };
}
async function person(officeId: string): Promise<{ id: string; ext: string }> {
  const id = await seedAgent(env.db, officeId);
  const ext = `EMP-${++n}-${randomUUID().slice(0, 8)}`;
  await env.db.updateTable('agents').set({ external_id: ext }).where('id', '=', id).execute();
  return { id, ext };
}

const agentRow = (id: string) => env.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const handoversOf = (agentId: string) =>
  env.db.selectFrom('handovers').selectAll().where('agent_id', '=', agentId).execute();
const hrEvents = (id: string) => env.db.selectFrom('hr_events').selectAll().where('webhook_id', '=', id).execute();

describe('HR events: Standard Webhooks signature', () => {
  test('no bearer token needed; a valid signature starts the handover (202 {handoverId})', async () => {
    const o = await office();
    const leaver = await person(o.id);
    const successor = await person(o.id);
    const id = `msg_${randomUUID()}`;
    const res = await send(
      { type: 'employee.terminated', employee: { externalId: leaver.ext }, successor: { externalId: successor.ext } },
      { id },
    );
    const body = expectStatus(res, 202);
    expect(body).toEqual({ handoverId: expect.any(String) });
    expect(await hrEvents(id)).toMatchObject([{ type: 'employee.terminated', handover_id: body.handoverId }]);
    expect((await waitForStatus(env.api, body.handoverId, ['completed', 'failed'])).status).toBe('completed');
  });

  test('several signatures, one valid (key rotation), is accepted', async () => {
    const o = await office();
    const leaver = await person(o.id);
    const successor = await person(o.id);
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      type: 'employee.terminated',
      employee: { externalId: leaver.ext },
      successor: { externalId: successor.ext },
    });
    const signature = [
      sign(id, ts, body, randomBytes(32)),
      'v2,aGVsbG8=',
      sign(id, ts, body),
      sign(id, ts, `${body} `),
    ].join(' ');
    const { handoverId } = expectStatus(await send(body, { id, timestamp: ts, signature }), 202);
    expect((await waitForStatus(env.api, handoverId, ['completed', 'failed'])).status).toBe('completed');
  });

  test.each([
    ['missing', null],
    ['wrong key', 'wrong'],
    ['garbage', 'v1,not-base64!!'],
    ['wrong version', 'v1a,AAAA'],
  ] as const)('%s signature → 401 problem+json, nothing started or recorded', async (_label, kind) => {
    const o = await office();
    const leaver = await person(o.id);
    await person(o.id);
    const id = `msg_${randomUUID()}`;
    const event = { type: 'employee.terminated', employee: { externalId: leaver.ext } };
    const ts = Math.floor(Date.now() / 1000);
    const signature = kind === 'wrong' ? sign(id, ts, JSON.stringify(event), randomBytes(32)) : kind;
    expectStatus(await send(event, { id, timestamp: ts, signature }), 401);
    expect(await handoversOf(leaver.id)).toHaveLength(0);
    expect(await hrEvents(id)).toHaveLength(0);
  });

  test('a tampered body, or one signed for another webhook-id → 401', async () => {
    const o = await office();
    const leaver = await person(o.id);
    await person(o.id);
    const ts = Math.floor(Date.now() / 1000);
    const event = JSON.stringify({ type: 'employee.terminated', employee: { externalId: leaver.ext } });
    const signed = sign('msg_a', ts, event);
    expectStatus(
      await send(event.replace('terminated', 'absent'), { id: 'msg_a', timestamp: ts, signature: signed }),
      401,
    );
    expectStatus(await send(event, { id: 'msg_b', timestamp: ts, signature: signed }), 401);
    expect(await handoversOf(leaver.id)).toHaveLength(0);
  });

  test('a timestamp more than 5 minutes off (either way) → 401, even correctly signed', async () => {
    const o = await office();
    const leaver = await person(o.id);
    await person(o.id);
    const event = { type: 'employee.terminated', employee: { externalId: leaver.ext } };
    const now = Math.floor(Date.now() / 1000);
    expectStatus(await send(event, { timestamp: now - 6 * 60 }), 401);
    expectStatus(await send(event, { timestamp: now + 6 * 60 }), 401);
    expect(await handoversOf(leaver.id)).toHaveLength(0);
    // Within the tolerance is fine.
    const { handoverId } = expectStatus(await send(event, { timestamp: now - 4 * 60 }), 202);
    expect((await waitForStatus(env.api, handoverId, ['completed', 'failed'])).status).toBe('completed');
  });

  test('a signed but malformed body → 400; a bearer token is no substitute for the signature', async () => {
    expectStatus(await send('{not json'), 400);
    expectStatus(await send({ type: 'employee.hired', employee: { externalId: 'x' } }), 400);
    expectStatus(await send({ type: 'employee.terminated' }), 400);
    const res = await env.api.call('POST', '/v1/hr/events', {
      type: 'employee.terminated',
      employee: { externalId: 'x' },
    });
    expectStatus(res, 401);
  });
});

test('the OpenAPI document lists the HR and SCIM endpoints', async () => {
  const doc = expectStatus(await env.api.call('GET', '/docs/json', undefined, null), 200);
  expect(doc.paths['/v1/hr/events'].post.security).toEqual([]);
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/scim/v2/Users', '/scim/v2/Users/{id}']));
});

describe('HR events: event types', () => {
  test('employee.terminated without successor → offboard to the other active agents, least-loaded', async () => {
    const { db, api } = env;
    const o = await office();
    const leaver = await person(o.id);
    const a = await person(o.id);
    const b = await person(o.id);
    await seedAgent(db, o.id, { status: 'absent' }); // not in the pool
    await seedBook(db, o.id, leaver.id, 10, 0);
    await seedBook(db, o.id, a.id, 4, 0);
    const { handoverId } = expectStatus(
      await send({ type: 'employee.terminated', employee: { externalId: leaver.ext } }),
      202,
    );
    const done = await waitForStatus(api, handoverId, ['completed', 'failed', 'compensated']);
    expect(done).toMatchObject({ kind: 'offboard', agentId: leaver.id, status: 'completed' });
    const row = await db.selectFrom('handovers').selectAll().where('id', '=', handoverId).executeTakeFirstOrThrow();
    expect(row.request.to).toEqual({ pool: [a.id, b.id].sort(), strategy: 'least-loaded' });
    // least-loaded: 4 + 10 = 14 → 7 each
    expect(done.summary.bySuccessor).toEqual({ [a.id]: 3, [b.id]: 7 });
    expect((await agentRow(leaver.id)).status).toBe('offboarded');
  });

  test('employee.terminated with nobody else active in the office → 422, nothing started', async () => {
    const o = await office();
    const leaver = await person(o.id);
    const id = `msg_${randomUUID()}`;
    expectStatus(await send({ type: 'employee.terminated', employee: { externalId: leaver.ext } }, { id }), 422);
    expect(await handoversOf(leaver.id)).toHaveLength(0);
    expect(await hrEvents(id)).toHaveLength(0);
  });

  test('unknown employee, successor or office → 422, nothing changed', async () => {
    const o = await office();
    const leaver = await person(o.id);
    const id = `msg_${randomUUID()}`;
    expectStatus(await send({ type: 'employee.terminated', employee: { externalId: 'EMP-nobody' } }, { id }), 422);
    expect(await hrEvents(id)).toHaveLength(0);
    const res = await send({
      type: 'employee.absent',
      employee: { externalId: leaver.ext },
      successor: { externalId: 'EMP-nobody' },
    });
    expect(expectStatus(res, 422).errors).toEqual([{ path: 'body/successor/externalId', message: 'unknown employee' }]);
    expect((await agentRow(leaver.id)).status).toBe('active');
    expectStatus(
      await send({
        type: 'employee.transferred',
        employee: { externalId: leaver.ext },
        toOffice: { externalId: 'OFF-x' },
      }),
      422,
    );
    expect(await handoversOf(leaver.id)).toHaveLength(0);
  });

  test('employee.transferred (customers default "move") → transfer to the office found by externalId', async () => {
    const { db, api } = env;
    const from = await office();
    const to = await office();
    const mover = await person(from.id);
    await person(from.id);
    await seedBook(db, from.id, mover.id, 5, 1);
    const { handoverId } = expectStatus(
      await send({
        type: 'employee.transferred',
        employee: { externalId: mover.ext },
        toOffice: { externalId: to.ext },
      }),
      202,
    );
    const done = await waitForStatus(api, handoverId, ['completed', 'failed', 'compensated']);
    expect(done).toMatchObject({ kind: 'transfer', status: 'completed' });
    const row = await db.selectFrom('handovers').selectAll().where('id', '=', handoverId).executeTakeFirstOrThrow();
    expect(row.request).toMatchObject({ toOfficeId: to.id, customers: 'move' });
    expect((await agentRow(mover.id)).office_id).toBe(to.id);
    const left = await db.selectFrom('customers').select('id').where('owner_id', '=', mover.id).execute();
    expect(left).toHaveLength(5);
  });

  test('employee.transferred with customers "stay" and no successor → they go to the old office pool', async () => {
    const { db, api } = env;
    const from = await office();
    const to = await office();
    const mover = await person(from.id);
    const stayer = await person(from.id);
    await seedBook(db, from.id, mover.id, 3, 0);
    const { handoverId } = expectStatus(
      await send({
        type: 'employee.transferred',
        employee: { externalId: mover.ext },
        toOffice: { externalId: to.ext },
        customers: 'stay',
      }),
      202,
    );
    const done = await waitForStatus(api, handoverId, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    expect(done.summary.bySuccessor).toEqual({ [stayer.id]: 3 });
    expect((await agentRow(mover.id)).office_id).toBe(to.id);
  });

  test('employee.absent → agent absent, its callbacks covered by the successor until `until`', async () => {
    const { db, api } = env;
    const o = await office();
    const absent = await person(o.id);
    const cover = await person(o.id);
    const callback = await seedCallback(db, absent.id, 60);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const { handoverId } = expectStatus(
      await send({
        type: 'employee.absent',
        employee: { externalId: absent.ext },
        successor: { externalId: cover.ext },
        until,
      }),
      202,
    );
    expect((await agentRow(absent.id)).status).toBe('absent');
    const row = await db.selectFrom('handovers').selectAll().where('id', '=', handoverId).executeTakeFirstOrThrow();
    expect(row.request).toMatchObject({
      kind: 'reassign-callbacks',
      fromAgentId: absent.id,
      to: { agentId: cover.id },
      until,
    });
    await waitFor('the callback to move to the cover', async () => {
      const cb = await db
        .selectFrom('callbacks')
        .select('assignee_id')
        .where('id', '=', callback)
        .executeTakeFirstOrThrow();
      return cb.assignee_id === cover.id ? true : undefined;
    });
    await waitFor('the cover to wait for `until`', async () => {
      const view = expectStatus(await api.call('GET', `/v1/handovers/${handoverId}`), 200);
      return view.phase === 'waiting' && view.status === 'running' ? view : undefined;
    });
    // Back early: the callback goes back.
    expectStatus(await api.call('PATCH', `/v1/agents/${absent.id}`, { status: 'active' }), 200);
    expect((await waitForStatus(api, handoverId, ['completed', 'failed'])).status).toBe('completed');
    const cb = await db
      .selectFrom('callbacks')
      .select('assignee_id')
      .where('id', '=', callback)
      .executeTakeFirstOrThrow();
    expect(cb.assignee_id).toBe(absent.id);
  });

  test('employee.absent refused (empty pool) → the agent is not left absent', async () => {
    const o = await office();
    const absent = await person(o.id);
    expectStatus(await send({ type: 'employee.absent', employee: { externalId: absent.ext } }), 422);
    expect((await agentRow(absent.id)).status).toBe('active');
  });
});

describe('HR events: repeats and effectiveAt', () => {
  test('a repeated webhook-id answers 200 with the same handoverId and starts nothing', async () => {
    const o = await office();
    const leaver = await person(o.id);
    await person(o.id);
    const id = `msg_${randomUUID()}`;
    const event = { type: 'employee.terminated', employee: { externalId: leaver.ext } };
    const first = expectStatus(await send(event, { id }), 202);
    const again = expectStatus(await send(event, { id }), 200);
    expect(again).toEqual({ handoverId: first.handoverId });
    await waitForStatus(env.api, first.handoverId, ['completed', 'failed']);
    // Also after it finished (agent offboarded, pool unchanged or not).
    expect(expectStatus(await send(event, { id }), 200)).toEqual({ handoverId: first.handoverId });
    expect(await handoversOf(leaver.id)).toHaveLength(1);
    expect(await hrEvents(id)).toHaveLength(1);
  });

  test('concurrent repeats of one webhook-id: one 202, the others 200, all the same handover', async () => {
    const o = await office();
    const leaver = await person(o.id);
    await person(o.id);
    await person(o.id);
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const event = { type: 'employee.terminated', employee: { externalId: leaver.ext } };
    const results = await Promise.all(Array.from({ length: 6 }, () => send(event, { id, timestamp: ts })));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 202]);
    const ids = new Set(results.map((r) => r.json().handoverId));
    expect(ids.size).toBe(1);
    expect(await handoversOf(leaver.id)).toHaveLength(1);
    expect(await hrEvents(id)).toHaveLength(1);
    expect((await waitForStatus(env.api, [...ids][0]!, ['completed', 'failed'])).status).toBe('completed');
  });

  test('concurrent employee.absent repeats: one cover, agent absent', async () => {
    const o = await office();
    const absent = await person(o.id);
    await person(o.id);
    const id = `msg_${randomUUID()}`;
    const event = { type: 'employee.absent', employee: { externalId: absent.ext } };
    const results = await Promise.all(Array.from({ length: 4 }, () => send(event, { id })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 202]);
    expect(new Set(results.map((r) => r.json().handoverId)).size).toBe(1);
    expect(await handoversOf(absent.id)).toHaveLength(1);
    expect((await agentRow(absent.id)).status).toBe('absent');
    const handoverId = results[0]!.json().handoverId;
    expect((await waitForStatus(env.api, handoverId, ['completed', 'failed'])).status).toBe('completed');
  });

  test('a future effectiveAt: the handover waits (phase waiting) and can be cancelled', async () => {
    const { api } = env;
    const o = await office();
    const leaver = await person(o.id);
    const successor = await person(o.id);
    await seedBook(env.db, o.id, leaver.id, 2, 0);
    const { handoverId } = expectStatus(
      await send({
        type: 'employee.terminated',
        employee: { externalId: leaver.ext },
        successor: { externalId: successor.ext },
        effectiveAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
      202,
    );
    await waitFor('the handover to wait for effectiveAt', async () => {
      const view = expectStatus(await api.call('GET', `/v1/handovers/${handoverId}`), 200);
      return view.phase === 'waiting' ? view : undefined;
    });
    expect((await agentRow(leaver.id)).status).toBe('active');
    expectStatus(await api.call('POST', `/v1/handovers/${handoverId}/cancel`), 202);
    expect((await waitForStatus(api, handoverId, ['cancelled', 'failed', 'compensated'])).status).toBe('cancelled');
    expect((await agentRow(leaver.id)).status).toBe('active');
    const owned = await env.db.selectFrom('customers').select('id').where('owner_id', '=', leaver.id).execute();
    expect(owned).toHaveLength(2);
  });
});
