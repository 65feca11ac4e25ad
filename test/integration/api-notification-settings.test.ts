import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { createAgent, createToken, type Directory, expectStatus, seedDirectory } from '../helpers/directory';
import { connectTemporal } from '../helpers/temporal';

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;
let d: Directory;
const MISSING = '00000000-0000-0000-0000-000000000000';

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('api_notification_settings'), connectTemporal()]);
  api = await buildTestApi(database.db, temporal.client);
  d = await seedDirectory(api);
});
afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

const url = (agentId: string, kind?: string) =>
  `/v1/agents/${agentId}/notification-settings${kind === undefined ? '' : `/${kind}`}`;

const DEFAULTS = [
  { kind: 'customers-assigned', enabled: true, mandatory: true },
  { kind: 'callbacks-assigned', enabled: true, mandatory: false },
  { kind: 'handover-blocked', enabled: true, mandatory: false },
  { kind: 'handover-finished', enabled: true, mandatory: false },
  { kind: 'handover-reverted', enabled: true, mandatory: true },
];

describe('GET /v1/agents/{id}/notification-settings', () => {
  test('all five kinds, enabled by default, mandatory ones marked', async () => {
    const id = await createAgent(api, d.officeA);
    expect(expectStatus(await api.call('GET', url(id)), 200)).toEqual({ items: DEFAULTS });
  });

  test('the agent itself, an admin of its office and the org admin may read; others get 403', async () => {
    const own = expectStatus(await api.call('GET', url(d.agentA.id), undefined, d.agentA.token), 200);
    expect(own.items).toHaveLength(5);
    expectStatus(await api.call('GET', url(d.agentA.id), undefined, d.adminA.token), 200);
    expectStatus(await api.call('GET', url(d.adminA.id), undefined, d.adminA.token), 200);
    expectStatus(await api.call('GET', url(d.agentA.id)), 200);
    // A plain agent may not read a colleague's, an admin not another office's.
    expectStatus(await api.call('GET', url(d.agentA2.id), undefined, d.agentA.token), 403);
    expectStatus(await api.call('GET', url(d.adminA.id), undefined, d.agentA.token), 403);
    expectStatus(await api.call('GET', url(d.agentB.id), undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', url(d.agentA.id), undefined, d.adminB.token), 403);
  });

  test('an unknown agent is 404 for the org admin, 403 for anyone else', async () => {
    expectStatus(await api.call('GET', url(MISSING)), 404);
    expectStatus(await api.call('GET', url(MISSING), undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', url(MISSING), undefined, d.agentA.token), 403);
  });

  test('401 without credentials', async () => {
    expectStatus(await api.call('GET', url(d.agentA.id), undefined, null), 401);
  });
});

describe('PUT /v1/agents/{id}/notification-settings/{kind}', () => {
  test('an agent turns an optional kind off and on again; GET reflects it; the row is what the mailer reads', async () => {
    const id = await createAgent(api, d.officeA);
    const token = await createToken(api, id);
    const off = expectStatus(await api.call('PUT', url(id, 'handover-finished'), { enabled: false }, token), 200);
    expect(off).toEqual({ kind: 'handover-finished', enabled: false, mandatory: false });
    const listed = expectStatus(await api.call('GET', url(id), undefined, token), 200).items;
    expect(listed).toEqual(DEFAULTS.map((s) => (s.kind === 'handover-finished' ? { ...s, enabled: false } : s)));
    const row = await database.db
      .selectFrom('notification_settings')
      .selectAll()
      .where('agent_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ agent_id: id, kind: 'handover-finished', enabled: false });

    // Idempotent, and back on.
    expectStatus(await api.call('PUT', url(id, 'handover-finished'), { enabled: false }, token), 200);
    const on = expectStatus(await api.call('PUT', url(id, 'handover-finished'), { enabled: true }, token), 200);
    expect(on).toEqual({ kind: 'handover-finished', enabled: true, mandatory: false });
    expect(expectStatus(await api.call('GET', url(id)), 200)).toEqual({ items: DEFAULTS });
    // Other agents' settings are untouched.
    expect(expectStatus(await api.call('GET', url(d.agentA.id)), 200).items).toEqual(
      expect.arrayContaining([{ kind: 'handover-finished', enabled: true, mandatory: false }]),
    );
  });

  test('a mandatory kind is 422 problem+json and stays enabled', async () => {
    const id = await createAgent(api, d.officeA);
    for (const kind of ['customers-assigned', 'handover-reverted']) {
      const problem = expectStatus(await api.call('PUT', url(id, kind), { enabled: false }), 422);
      expect(problem.detail).toContain(kind);
      expectStatus(await api.call('PUT', url(id, kind), { enabled: false }, d.adminA.token), 422);
    }
    expect(expectStatus(await api.call('GET', url(id)), 200)).toEqual({ items: DEFAULTS });
    const rows = await database.db.selectFrom('notification_settings').selectAll().where('agent_id', '=', id).execute();
    expect(rows).toEqual([]);
  });

  test('an unknown kind or a bad body is 400 with field errors', async () => {
    const id = await createAgent(api, d.officeA);
    const unknownKind = expectStatus(await api.call('PUT', url(id, 'weekly-digest'), { enabled: false }), 400);
    expect(unknownKind.errors[0].path).toMatch(/^params/);
    for (const body of [{}, { enabled: 'maybe' }, { enabled: false, extra: 1 }]) {
      const problem = expectStatus(await api.call('PUT', url(id, 'handover-blocked'), body), 400);
      expect(problem.errors.length).toBeGreaterThan(0);
    }
    expectStatus(await api.call('PUT', url(id, 'handover-blocked')), 400);
  });

  test('an admin changes those of agents in its office; other offices and colleagues get 403', async () => {
    const id = await createAgent(api, d.officeA);
    const byAdmin = expectStatus(
      await api.call('PUT', url(id, 'callbacks-assigned'), { enabled: false }, d.adminA.token),
      200,
    );
    expect(byAdmin).toEqual({ kind: 'callbacks-assigned', enabled: false, mandatory: false });
    expectStatus(await api.call('PUT', url(id, 'callbacks-assigned'), { enabled: true }, d.adminB.token), 403);
    expectStatus(await api.call('PUT', url(d.agentB.id, 'handover-blocked'), { enabled: false }, d.adminA.token), 403);
    expectStatus(await api.call('PUT', url(id, 'callbacks-assigned'), { enabled: true }, d.agentA.token), 403);
    // A refused change changed nothing.
    const items = expectStatus(await api.call('GET', url(id)), 200).items;
    expect(items.find((s: { kind: string }) => s.kind === 'callbacks-assigned').enabled).toBe(false);
    const b = expectStatus(await api.call('GET', url(d.agentB.id)), 200).items;
    expect(b.find((s: { kind: string }) => s.kind === 'handover-blocked').enabled).toBe(true);
    // The org admin changes anyone's; unknown agents are 404 for it, 403 for anyone else.
    expectStatus(await api.call('PUT', url(d.agentB.id, 'handover-blocked'), { enabled: false }), 200);
    expectStatus(await api.call('PUT', url(MISSING, 'handover-blocked'), { enabled: false }), 404);
    expectStatus(await api.call('PUT', url(MISSING, 'handover-blocked'), { enabled: false }, d.adminA.token), 403);
    // 403 comes before the mandatory-kind 422: a stranger learns nothing.
    expectStatus(
      await api.call('PUT', url(d.agentB.id, 'customers-assigned'), { enabled: false }, d.adminA.token),
      403,
    );
  });
});
