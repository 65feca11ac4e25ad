/**
 * `offboard` through POST /v1/handovers: refusals (nothing changes), Idempotency-Key, races,
 * reading, listing, cancel and recheck. Outcomes (pools, unassign, preview, mails) are in
 * offboard-api-outcomes.test.ts.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/api';
import { createToken, expectStatus, setStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedOffice,
  waitForStatus,
} from '../helpers/handover-env';
import {
  agentStatus,
  expectDetail,
  handoverIdsOfOffice,
  offboard,
  seedLeadSource,
  seedTeam,
  type Team,
  workflowDone,
} from '../helpers/offboard-api';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('offboard-api');
  await env.startWorker();
});
afterAll(() => env?.close());

const post = (body: unknown, token?: string | null, headers?: Record<string, string>) =>
  env.api.call('POST', '/v1/handovers', body, token, headers);

/** A problem+json with `status`, and nothing changed: no handover in the office, the team's statuses as they were. */
async function expectRefused(res: LightMyRequestResponse, status: number, t: Team, leaverStatus = 'active') {
  const problem = expectStatus(res, status);
  expect(await handoverIdsOfOffice(env, t.office)).toEqual([]);
  expect(await agentStatus(env, t.leaver)).toBe(leaverStatus);
  expect(await agentStatus(env, t.successor)).toBe('active');
  return problem;
}

/** An offboard that stays `blocked` (its agent is a lead source's default assignee) until cancelled. */
async function startBlocked(t: Team) {
  await seedLeadSource(env, t.office, t.leaver);
  const started = expectStatus(await post(offboard(t.leaver, { agentId: t.successor })), 202);
  await waitForStatus(env.api, started.id, ['blocked']);
  return started.id as string;
}

async function cancel(id: string) {
  expectStatus(await env.api.call('POST', `/v1/handovers/${id}/cancel`), 202);
  await waitForStatus(env.api, id, ['cancelled']);
}

describe('POST /v1/handovers refusals change nothing', () => {
  const invalid: Array<[string, (t: Team) => unknown]> = [
    ['missing to', (t) => ({ kind: 'offboard', agentId: t.leaver })],
    ['unknown kind', (t) => offboard(t.leaver, { agentId: t.successor }, { kind: 'retire' })],
    ['extra field', (t) => offboard(t.leaver, { agentId: t.successor }, { effective: 'now' })],
    ['extra field in to', (t) => ({ kind: 'offboard', agentId: t.leaver, to: { agentId: t.successor, x: 1 } })],
    ['empty pool', (t) => offboard(t.leaver, { pool: [], strategy: 'round-robin' })],
    ['bad strategy', (t) => offboard(t.leaver, { pool: [t.successor], strategy: 'random' })],
    ['bad option', (t) => offboard(t.leaver, { agentId: t.successor }, { options: { recheckIntervalSeconds: 0 } })],
  ];
  test.each(invalid)('400: %s', async (_, body) => {
    const t = await seedTeam(env);
    const problem = await expectRefused(await post(body(t)), 400, t);
    expect(problem.errors?.length).toBeGreaterThan(0);
  });

  test('400: a body that is not JSON', async () => {
    const t = await seedTeam(env);
    const res = await post(`{"kind": "offboard", "agentId": "${t.leaver}",`, ADMIN_TOKEN, {
      'content-type': 'application/json',
    });
    await expectRefused(res, 400, t);
  });

  test('401: no token, an unknown token', async () => {
    const t = await seedTeam(env);
    const body = offboard(t.leaver, { agentId: t.successor });
    await expectRefused(await post(body, null), 401, t);
    await expectRefused(await post(body, 'hst_not-a-token'), 401, t);
  });

  test("403: another office's admin (whatever the agent ID), a plain agent", async () => {
    const t = await seedTeam(env);
    const otherOffice = await seedOffice(env.db);
    const otherAdmin = await createToken(env.api, await seedAgent(env.db, otherOffice, { role: 'admin' }));
    await expectRefused(await post(offboard(t.leaver, { agentId: t.successor }), otherAdmin), 403, t);
    await expectRefused(await post(offboard('no-such-agent', { agentId: t.successor }), otherAdmin), 403, t);
    // A plain agent of the office, the successor or the leaver itself.
    for (const agent of [t.successor, t.leaver]) {
      const token = await createToken(env.api, agent);
      await expectRefused(await post(offboard(t.leaver, { agentId: t.successor }), token), 403, t);
    }
  });

  test('404: the org admin names an agent that does not exist', async () => {
    const t = await seedTeam(env);
    const problem = await expectRefused(await post(offboard('no-such-agent', { agentId: t.successor })), 404, t);
    expect(problem.detail).toContain('no-such-agent');
  });

  test('409: a second handover of an agent with one running names the running one', async () => {
    const t = await seedTeam(env);
    const running = await startBlocked(t);
    const other = await seedAgent(env.db, t.office);
    for (const token of [ADMIN_TOKEN, t.admin.token]) {
      const problem = expectStatus(await post(offboard(t.leaver, { agentId: other }), token), 409);
      expect(problem.detail).toContain(running);
      // The preview is refused the same way.
      const preview = env.api.call('POST', '/v1/handovers/preview', offboard(t.leaver, { agentId: other }), token);
      expect(expectStatus(await preview, 409).detail).toContain(running);
    }
    expect(await handoverIdsOfOffice(env, t.office)).toEqual([running]);
    expect(await agentStatus(env, t.leaver)).toBe('leaving');
    await cancel(running);
  });

  const impossible: Array<[string, (t: Team) => Promise<unknown>]> = [
    [
      'successor absent',
      async (t) => offboard(t.leaver, { agentId: await seedAgent(env.db, t.office, { status: 'absent' }) }),
    ],
    [
      'successor offboarded',
      async (t) => offboard(t.leaver, { agentId: await seedAgent(env.db, t.office, { status: 'offboarded' }) }),
    ],
    ['successor is the leaving agent', async (t) => offboard(t.leaver, { agentId: t.leaver })],
    [
      'successor in another office',
      async (t) => offboard(t.leaver, { agentId: await seedAgent(env.db, await seedOffice(env.db)) }),
    ],
    ['successor does not exist', async (t) => offboard(t.leaver, { agentId: 'no-such-agent' })],
    [
      'one pool member absent',
      async (t) =>
        offboard(t.leaver, {
          pool: [t.successor, await seedAgent(env.db, t.office, { status: 'absent' })],
          strategy: 'least-loaded',
        }),
    ],
    [
      'the leaver in its own pool',
      async (t) => offboard(t.leaver, { pool: [t.successor, t.leaver], strategy: 'round-robin' }),
    ],
  ];
  test.each(impossible)('422: %s', async (_, body) => {
    const t = await seedTeam(env);
    await expectRefused(await post(await body(t)), 422, t);
  });

  test('422: the agent is already offboarded', async () => {
    const t = await seedTeam(env);
    await setStatus(env.db, t.leaver, 'offboarded');
    await expectRefused(await post(offboard(t.leaver, { agentId: t.successor })), 422, t, 'offboarded');
  });
});

describe('Idempotency-Key', () => {
  test('the same key and body answer the same handover (200), even after it finished; one row, one workflow run', async () => {
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 5, 1);
    const key = { 'idempotency-key': `key-${t.leaver}` };
    const body = offboard(t.leaver, { agentId: t.successor }, { reason: 'left the company' });
    const first = expectStatus(await post(body, t.admin.token, key), 202);
    const { runId } = await env.temporal.client.workflow.getHandle(first.id).describe();
    // Same body, keys in another order.
    const reordered = { reason: 'left the company', to: body.to, agentId: t.leaver, kind: 'offboard' };
    expect(expectStatus(await post(reordered, t.admin.token, key), 200).id).toBe(first.id);

    const done = await waitForStatus(env.api, first.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    await workflowDone(env, first.id);
    const replay = expectStatus(await post(body, t.admin.token, key), 200);
    expect(replay).toMatchObject({ id: first.id, status: 'completed', summary: done.summary });
    // The replay started nothing (the API answers only after a start it makes): same run, the agent
    // stays offboarded, the row stays completed.
    expect((await env.temporal.client.workflow.getHandle(first.id).describe()).runId).toBe(runId);
    expect(await agentStatus(env, t.leaver)).toBe('offboarded');
    expect(expectStatus(await env.api.call('GET', `/v1/handovers/${first.id}`), 200).status).toBe('completed');
    expect(await handoverIdsOfOffice(env, t.office)).toEqual([first.id]);
  });

  test('the same key with another body is 422; starts nothing', async () => {
    const t = await seedTeam(env);
    const key = { 'idempotency-key': `key-${t.leaver}` };
    await seedLeadSource(env, t.office, t.leaver);
    const running = expectStatus(await post(offboard(t.leaver, { agentId: t.successor }), t.admin.token, key), 202).id;
    const other = await seedAgent(env.db, t.office);
    const problem = expectStatus(await post(offboard(t.leaver, { agentId: other }), t.admin.token, key), 422);
    expect(problem.detail).toContain('Idempotency-Key');
    expect(await handoverIdsOfOffice(env, t.office)).toEqual([running]);
    await waitForStatus(env.api, running, ['blocked']);
    await cancel(running);
  });

  test("another caller's same key is a request of its own: 403 for another office's admin, 409 for the org admin", async () => {
    const t = await seedTeam(env);
    await seedLeadSource(env, t.office, t.leaver);
    const key = { 'idempotency-key': `key-${t.leaver}` };
    const body = offboard(t.leaver, { agentId: t.successor });
    const started = expectStatus(await post(body, t.admin.token, key), 202);
    const otherAdmin = await createToken(env.api, await seedAgent(env.db, await seedOffice(env.db), { role: 'admin' }));
    const problem = expectStatus(await post(body, otherAdmin, key), 403);
    expect(problem.detail).not.toContain(started.id);
    // Keys are scoped to the caller (API.md): the org admin's same key names a new request, refused as the agent is busy.
    expectDetail(expectStatus(await post(body, ADMIN_TOKEN, key), 409), started.id);
    expect(expectStatus(await post(body, t.admin.token, key), 200).id).toBe(started.id);
    await waitForStatus(env.api, started.id, ['blocked']);
    await cancel(started.id);
  });

  test('two concurrent requests with the same key start one handover (5 races at once)', async () => {
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        const t = await seedTeam(env);
        await seedBook(env.db, t.office, t.leaver, 3, 1);
        const key = { 'idempotency-key': `key-${t.leaver}` };
        const body = offboard(t.leaver, { agentId: t.successor });
        const answers = await Promise.all([post(body, t.admin.token, key), post(body, t.admin.token, key)]);
        expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 202]);
        const [a, b] = answers.map((r) => r.json());
        expect(a.id).toBe(b.id);
        expect(await handoverIdsOfOffice(env, t.office)).toEqual([a.id]);
        expect((await waitForStatus(env.api, a.id, ['completed', 'failed'])).status).toBe('completed');
      }),
    );
  });
});

test('two concurrent requests for the same agent without keys: one 202, one 409 naming it (5 races at once)', async () => {
  await Promise.all(
    Array.from({ length: 5 }, async () => {
      const t = await seedTeam(env);
      await seedBook(env.db, t.office, t.leaver, 3, 1);
      const other = await seedAgent(env.db, t.office);
      const answers = await Promise.all([
        post(offboard(t.leaver, { agentId: t.successor })),
        post(offboard(t.leaver, { agentId: other }), t.admin.token),
      ]);
      expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 409]);
      const winner = answers.find((a) => a.statusCode === 202)!.json();
      const loser = answers.find((a) => a.statusCode === 409)!;
      expect(expectStatus(loser, 409).detail).toContain(winner.id);
      expect(await handoverIdsOfOffice(env, t.office)).toEqual([winner.id]);
      expect((await waitForStatus(env.api, winner.id, ['completed', 'failed'])).status).toBe('completed');
    }),
  );
});

describe('reading, listing, cancel and recheck', () => {
  /** One completed and one blocked handover in a fresh office. */
  async function twoHandovers() {
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 2, 1);
    const completed = expectStatus(await post(offboard(t.leaver, { agentId: t.successor }), t.admin.token), 202).id;
    expect((await waitForStatus(env.api, completed, ['completed', 'failed'])).status).toBe('completed');
    const blockedTeam = { ...t, leaver: await seedAgent(env.db, t.office) };
    const blocked = await startBlocked(blockedTeam);
    const otherAdmin = await createToken(env.api, await seedAgent(env.db, await seedOffice(env.db), { role: 'admin' }));
    return { t, blockedLeaver: blockedTeam.leaver, completed, blocked, otherAdmin };
  }

  test('GET /v1/handovers/{id}: admins of its office; 403 for anyone else whatever the ID; 404 unknown', async () => {
    const { t, completed, blocked, otherAdmin } = await twoHandovers();
    const got = expectStatus(await env.api.call('GET', `/v1/handovers/${completed}`, undefined, t.admin.token), 200);
    expect(got).toMatchObject({ id: completed, kind: 'offboard', agentId: t.leaver, status: 'completed' });
    expect(got.links.self).toBe(`/v1/handovers/${completed}`);
    expect(got.finishedAt).toEqual(expect.any(String));
    const plainAgent = await createToken(env.api, t.successor);
    for (const token of [otherAdmin, plainAgent]) {
      expectStatus(await env.api.call('GET', `/v1/handovers/${completed}`, undefined, token), 403);
      expectStatus(await env.api.call('GET', '/v1/handovers/handover-nope', undefined, token), 403);
    }
    expectStatus(await env.api.call('GET', '/v1/handovers/handover-nope'), 404);
    expectStatus(await env.api.call('GET', `/v1/handovers/${completed}`, undefined, null), 401);
    await cancel(blocked);
  });

  test('GET /v1/handovers filters by agentId, status and kind, pages by keyset, shows admins their office only', async () => {
    const { t, blockedLeaver, completed, blocked, otherAdmin } = await twoHandovers();
    const list = async (query: string, token = t.admin.token) =>
      expectStatus(await env.api.call('GET', `/v1/handovers${query}`, undefined, token), 200);
    const ids = (body: { items: Array<{ id: string }> }) => body.items.map((h) => h.id);

    expect(ids(await list('')).sort()).toEqual([completed, blocked].sort());
    expect(ids(await list(`?agentId=${t.leaver}`))).toEqual([completed]);
    expect(ids(await list(`?agentId=${blockedLeaver}`))).toEqual([blocked]);
    expect(ids(await list('?status=completed'))).toEqual([completed]);
    expect(ids(await list('?status=blocked'))).toEqual([blocked]);
    expect(ids(await list(`?status=blocked&agentId=${t.leaver}`))).toEqual([]);
    expect(ids(await list('?kind=offboard')).sort()).toEqual([completed, blocked].sort());
    expect(ids(await list('?kind=transfer'))).toEqual([]);
    // The org admin sees them among everything, by agent.
    expect(ids(await list(`?agentId=${t.leaver}&kind=offboard&status=completed`, ADMIN_TOKEN))).toEqual([completed]);
    // Another office's admin and a plain agent see none of them.
    expect(await list('', otherAdmin)).toEqual({ items: [], nextCursor: null });
    // A plain agent gets 403 on every admin list (API.md, Auth: it reads its own customers and callbacks only).
    expectStatus(await env.api.call('GET', '/v1/handovers', undefined, await createToken(env.api, t.successor)), 403);

    const first = await list('?limit=1');
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await list(`?limit=1&cursor=${first.nextCursor}`);
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    expect([...ids(first), ...ids(second)]).toEqual([completed, blocked].sort());

    expectStatus(await env.api.call('GET', '/v1/handovers?status=paused', undefined, t.admin.token), 400);
    expectStatus(await env.api.call('GET', '/v1/handovers?kind=retire', undefined, t.admin.token), 400);
    expectStatus(await env.api.call('GET', '/v1/handovers?cursor=!!', undefined, t.admin.token), 400);
    await cancel(blocked);
  });

  test('cancel and recheck: 409 once finished, 403 for another office (whatever the ID), 404 unknown', async () => {
    const { t, completed, blocked, otherAdmin } = await twoHandovers();
    for (const action of ['cancel', 'recheck']) {
      const url = (id: string) => `/v1/handovers/${id}/${action}`;
      expectDetail(
        expectStatus(await env.api.call('POST', url(completed), undefined, t.admin.token), 409),
        'completed',
      );
      expectStatus(await env.api.call('POST', url(blocked), undefined, otherAdmin), 403);
      expectStatus(await env.api.call('POST', url('handover-nope'), undefined, otherAdmin), 403);
      expectStatus(await env.api.call('POST', url(blocked), undefined, await createToken(env.api, t.successor)), 403);
      expectStatus(await env.api.call('POST', url('handover-nope')), 404);
    }
    // Still blocked after all that; its office's admin may recheck and cancel it.
    expect(expectStatus(await env.api.call('GET', `/v1/handovers/${blocked}`), 200).status).toBe('blocked');
    expectStatus(await env.api.call('POST', `/v1/handovers/${blocked}/recheck`, undefined, t.admin.token), 202);
    expectStatus(await env.api.call('POST', `/v1/handovers/${blocked}/cancel`, undefined, t.admin.token), 202);
    expect((await waitForStatus(env.api, blocked, ['cancelled', 'failed'])).status).toBe('cancelled');
    expectStatus(await env.api.call('POST', `/v1/handovers/${blocked}/recheck`, undefined, t.admin.token), 409);
  });
});
