import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashToken } from '../../src/api/auth';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  createAgent,
  createCustomer,
  createOffice,
  createToken,
  type Directory,
  expectStatus,
  listAll,
  seedDirectory,
  setStatus,
} from '../helpers/directory';
import { connectTemporal } from '../helpers/temporal';

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;
let d: Directory;
const MISSING = '00000000-0000-0000-0000-000000000000';

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('api_agents'), connectTemporal()]);
  api = await buildTestApi(database.db, temporal.client);
  d = await seedDirectory(api);
});
afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

describe('GET /v1/me', () => {
  test('says who each token acts as: org admin, office admin (with its office), plain agent; 401 without one', async () => {
    expect(expectStatus(await api.call('GET', '/v1/me'), 200)).toEqual({
      role: 'org-admin',
      agent: null,
      office: null,
    });
    const admin = expectStatus(await api.call('GET', '/v1/me', undefined, d.adminA.token), 200);
    expect(admin).toMatchObject({ role: 'office-admin', agent: { id: d.adminA.id }, office: { id: d.officeA } });
    const agent = expectStatus(await api.call('GET', '/v1/me', undefined, d.agentA.token), 200);
    expect(agent).toMatchObject({
      role: 'agent',
      agent: { id: d.agentA.id, role: 'agent' },
      office: { id: d.officeA },
    });
    expectStatus(await api.call('GET', '/v1/me', undefined, null), 401);
  });

  test('an admin on its way out (leaving) reads as a plain agent', async () => {
    const id = await createAgent(api, d.officeA, 'admin');
    const token = await createToken(api, id);
    await setStatus(database.db, id, 'leaving');
    expect(expectStatus(await api.call('GET', '/v1/me', undefined, token), 200).role).toBe('agent');
  });
});

describe('auth', () => {
  test('no token, a malformed header or an unknown token is 401 problem+json', async () => {
    expectStatus(await api.call('GET', '/v1/agents', undefined, null), 401);
    expectStatus(await api.call('GET', '/v1/agents', undefined, null, { authorization: 'Basic abc' }), 401);
    expectStatus(await api.call('GET', '/v1/agents', undefined, 'hst_not-a-token'), 401);
  });

  test('an offboarded agent’s token stops working', async () => {
    const id = await createAgent(api, d.officeA);
    const token = await createToken(api, id);
    expectStatus(await api.call('GET', '/v1/customers', undefined, token), 200);
    await setStatus(database.db, id, 'offboarded');
    expectStatus(await api.call('GET', '/v1/customers', undefined, token), 401);
  });
});

describe('POST /v1/agents', () => {
  test('the org admin creates an agent: 201 with defaults', async () => {
    const body = { officeId: d.officeA, name: 'Sato', email: 'sato@example.test', role: 'agent', externalId: 'emp-1' };
    const agent = expectStatus(await api.call('POST', '/v1/agents', body), 201);
    expect(agent).toEqual({
      id: expect.any(String),
      officeId: d.officeA,
      name: 'Sato',
      email: 'sato@example.test',
      role: 'agent',
      locale: 'en',
      status: 'active',
      externalId: 'emp-1',
      customerCount: 0,
      callbackCount: 0,
    });
    // A duplicate externalId is 409.
    expectStatus(await api.call('POST', '/v1/agents', { ...body, email: 'other@example.test' }), 409);
  });

  test('an office admin creates agents in its own office only', async () => {
    const body = { officeId: d.officeA, name: 'Ito', email: 'ito@example.test', role: 'admin', locale: 'ja' };
    const agent = expectStatus(await api.call('POST', '/v1/agents', body, d.adminA.token), 201);
    expect(agent).toMatchObject({ role: 'admin', locale: 'ja', officeId: d.officeA });
    expectStatus(await api.call('POST', '/v1/agents', { ...body, officeId: d.officeB }, d.adminA.token), 403);
    // Whatever the ID: an unknown office is 403 for an office admin too.
    expectStatus(await api.call('POST', '/v1/agents', { ...body, officeId: MISSING }, d.adminA.token), 403);
    expectStatus(await api.call('POST', '/v1/agents', body, d.agentA.token), 403);
  });

  test('an unknown office is 422 for the org admin', async () => {
    const body = { officeId: MISSING, name: 'X', email: 'x@example.test', role: 'agent' };
    const problem = expectStatus(await api.call('POST', '/v1/agents', body), 422);
    expect(problem.errors).toEqual([{ path: 'body/officeId', message: 'unknown office' }]);
  });

  test('schema violations are 400 with field errors', async () => {
    const base = { officeId: d.officeA, name: 'Y', email: 'y@example.test', role: 'agent' };
    const bad = [
      { ...base, role: 'boss' },
      { ...base, email: 'not-an-email' },
      { ...base, name: '' },
      { ...base, locale: 'fr' },
      { ...base, extra: true },
      { officeId: d.officeA },
    ];
    for (const body of bad) {
      const problem = expectStatus(await api.call('POST', '/v1/agents', body), 400);
      expect(problem.errors.length).toBeGreaterThan(0);
    }
  });
});

describe('GET /v1/agents/{id}', () => {
  test('callbackCount counts its callbacks that have not ended (ended ones and others’ left out)', async () => {
    const id = await createAgent(api, d.officeA);
    const other = await createAgent(api, d.officeA);
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    const callback = (assigneeId: string, startsAt: string, endsAt: string) =>
      api.call('POST', '/v1/callbacks', { name: 'Caller', phone: '+81-3-0000-0000', startsAt, endsAt, assigneeId });
    const windows = [
      [at(-60), at(-30)], // ended
      [at(-10), at(20)], // due
      [at(30), at(60)], // later
    ] as const;
    for (const [startsAt, endsAt] of windows) expectStatus(await callback(id, startsAt, endsAt), 201);
    expectStatus(await callback(other, at(30), at(60)), 201);
    const notEnded = windows.filter(([, endsAt]) => new Date(endsAt) >= new Date()).length;
    expect(expectStatus(await api.call('GET', `/v1/agents/${id}`), 200).callbackCount).toBe(notEnded);
    const listed = (await listAll(api, `/v1/agents?officeId=${d.officeA}`)).items;
    expect(listed.find((a) => a.id === id)?.callbackCount).toBe(notEnded);
  });

  test('customerCount counts the customers it owns, trashed included', async () => {
    const id = await createAgent(api, d.officeA);
    await createCustomer(api, d.officeA, id);
    const trashed = await createCustomer(api, d.officeA, id, { subscribed: false });
    expectStatus(await api.call('DELETE', `/v1/customers/${trashed}`), 200);
    expect(expectStatus(await api.call('GET', `/v1/agents/${id}`), 200).customerCount).toBe(2);
    expect(expectStatus(await api.call('GET', `/v1/agents/${id}`, undefined, d.adminA.token), 200).id).toBe(id);
  });

  test('404 for the org admin, 403 for anyone else, for other offices and for plain agents', async () => {
    expectStatus(await api.call('GET', `/v1/agents/${MISSING}`), 404);
    expectStatus(await api.call('GET', `/v1/agents/${MISSING}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', `/v1/agents/${d.agentB.id}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', `/v1/agents/${d.agentA.id}`, undefined, d.agentA.token), 403);
  });
});

describe('GET /v1/agents', () => {
  test('keyset pagination across pages, filters by office and status', async () => {
    const office = await createOffice(api);
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push(await createAgent(api, office));
    expectStatus(await api.call('PATCH', `/v1/agents/${ids[0]}`, { status: 'absent' }), 200);
    const all = await listAll(api, `/v1/agents?officeId=${office}&limit=3`);
    expect(all.pages).toBe(3);
    expect(all.items.map((a) => a.id)).toEqual([...ids].sort());
    const absent = await listAll(api, `/v1/agents?officeId=${office}&status=absent`);
    expect(absent.items.map((a) => a.id)).toEqual([ids[0]]);
    expectStatus(await api.call('GET', '/v1/agents?cursor=!!'), 400);
    expectStatus(await api.call('GET', '/v1/agents?limit=1001'), 400);
    expectStatus(await api.call('GET', '/v1/agents?status=gone'), 400);
  });

  test('an office admin lists its own office; other offices and plain agents get 403', async () => {
    const { items } = await listAll(api, '/v1/agents', d.adminA.token);
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((a) => a.officeId))).toEqual(new Set([d.officeA]));
    expectStatus(await api.call('GET', `/v1/agents?officeId=${d.officeB}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', '/v1/agents', undefined, d.agentA.token), 403);
  });
});

describe('PATCH /v1/agents/{id}', () => {
  test('active ⇄ absent by the admin of its office', async () => {
    const id = await createAgent(api, d.officeA);
    const url = `/v1/agents/${id}`;
    expect(expectStatus(await api.call('PATCH', url, { status: 'absent' }, d.adminA.token), 200).status).toBe('absent');
    expect(expectStatus(await api.call('PATCH', url, { status: 'active' }), 200).status).toBe('active');
    expectStatus(await api.call('PATCH', url, { status: 'absent' }, d.adminB.token), 403);
    expectStatus(await api.call('PATCH', url, { status: 'absent' }, d.agentA.token), 403);
    expectStatus(await api.call('PATCH', url, { status: 'leaving' }), 400);
    expectStatus(await api.call('PATCH', url, { status: 'absent', name: 'x' }), 400);
    expectStatus(await api.call('PATCH', `/v1/agents/${MISSING}`, { status: 'absent' }), 404);
  });

  test('409 for a leaving or offboarded agent: only handovers change those', async () => {
    for (const status of ['leaving', 'offboarded'] as const) {
      const id = await createAgent(api, d.officeA);
      await setStatus(database.db, id, status);
      const problem = expectStatus(await api.call('PATCH', `/v1/agents/${id}`, { status: 'active' }), 409);
      expect(problem.detail).toContain(status);
      expect(expectStatus(await api.call('GET', `/v1/agents/${id}`), 200).status).toBe(status);
    }
  });
});

describe('POST /v1/agents/{id}/tokens', () => {
  test('201 with a token stored hashed that acts as the agent', async () => {
    const id = await createAgent(api, d.officeA, 'admin');
    const token = expectStatus(await api.call('POST', `/v1/agents/${id}/tokens`, undefined, d.adminA.token), 201).token;
    expect(token).toMatch(/^hst_/);
    const stored = await database.db.selectFrom('api_tokens').selectAll().where('agent_id', '=', id).execute();
    expect(stored.map((t) => t.token_hash)).toEqual([hashToken(token)]);
    expect(JSON.stringify(stored)).not.toContain(token);
    // The token is an admin of office A: it lists exactly that office's agents.
    const { items } = await listAll(api, '/v1/agents', token);
    const officeA = await database.db.selectFrom('agents').select('id').where('office_id', '=', d.officeA).execute();
    expect(officeA.length).toBeGreaterThan(1);
    expect(items.map((a) => a.id).sort()).toEqual(officeA.map((a) => a.id).sort());
  });

  test('refusals: other office 403, plain agent 403, unknown 404, offboarded 422', async () => {
    expectStatus(await api.call('POST', `/v1/agents/${d.agentB.id}/tokens`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('POST', `/v1/agents/${d.agentA.id}/tokens`, undefined, d.agentA.token), 403);
    expectStatus(await api.call('POST', `/v1/agents/${MISSING}/tokens`), 404);
    expectStatus(await api.call('POST', `/v1/agents/${MISSING}/tokens`, undefined, d.adminA.token), 403);
    const id = await createAgent(api, d.officeA);
    await setStatus(database.db, id, 'offboarded');
    expectStatus(await api.call('POST', `/v1/agents/${id}/tokens`), 422);
  });
});

describe('lead sources', () => {
  test('PUT creates and updates; GET filters by office and default assignee', async () => {
    const body = { name: 'SUUMO', officeId: d.officeA, defaultAssigneeId: d.agentA.id };
    const created = expectStatus(await api.call('PUT', '/v1/lead-sources/suumo', body, d.adminA.token), 200);
    expect(created).toEqual({ key: 'suumo', name: 'SUUMO', officeId: d.officeA, defaultAssigneeId: d.agentA.id });
    const updated = expectStatus(
      await api.call('PUT', '/v1/lead-sources/suumo', { ...body, name: 'SUUMO 2', defaultAssigneeId: null }),
      200,
    );
    expect(updated).toMatchObject({ name: 'SUUMO 2', defaultAssigneeId: null });
    expectStatus(await api.call('PUT', '/v1/lead-sources/homes', { ...body, name: 'HOME’S' }), 200);
    const b = { name: 'athome', officeId: d.officeB, defaultAssigneeId: d.agentB.id };
    expectStatus(await api.call('PUT', '/v1/lead-sources/athome', b), 200);

    const byAssignee = await listAll(api, `/v1/lead-sources?defaultAssigneeId=${d.agentA.id}`);
    expect(byAssignee.items.map((l) => l.key)).toEqual(['homes']);
    const paged = await listAll(api, '/v1/lead-sources?limit=1');
    expect(paged.items.map((l) => l.key)).toEqual(['athome', 'homes', 'suumo']);
    expect(paged.pages).toBe(3);
    const mine = await listAll(api, '/v1/lead-sources', d.adminA.token);
    expect(mine.items.map((l) => l.key)).toEqual(['homes', 'suumo']);
  });

  test('the default assignee must be an active agent of that office', async () => {
    const put = (defaultAssigneeId: string) =>
      api.call('PUT', '/v1/lead-sources/portal-x', { name: 'Portal', officeId: d.officeA, defaultAssigneeId });
    expectStatus(await put(d.agentB.id), 422);
    expectStatus(await put(MISSING), 422);
    for (const status of ['absent', 'leaving', 'offboarded'] as const) {
      const id = await createAgent(api, d.officeA);
      await setStatus(database.db, id, status);
      const problem = expectStatus(await put(id), 422);
      expect(problem.detail).toContain(status);
      expect(problem.errors[0].path).toBe('body/defaultAssigneeId');
    }
    const unknownOffice = { name: 'P', officeId: MISSING, defaultAssigneeId: null };
    expectStatus(await api.call('PUT', '/v1/lead-sources/portal-x', unknownOffice), 422);
  });

  test('refusals: other office 403 (also to take over its key), plain agent 403, bad key 400', async () => {
    const body = { name: 'B only', officeId: d.officeB, defaultAssigneeId: null };
    expectStatus(await api.call('PUT', '/v1/lead-sources/b-only', body), 200);
    expectStatus(await api.call('PUT', '/v1/lead-sources/b-only', body, d.adminA.token), 403);
    const takeOver = { ...body, officeId: d.officeA };
    expectStatus(await api.call('PUT', '/v1/lead-sources/b-only', takeOver, d.adminA.token), 403);
    expectStatus(await api.call('PUT', '/v1/lead-sources/a-new', takeOver, d.agentA.token), 403);
    expectStatus(await api.call('GET', '/v1/lead-sources', undefined, d.agentA.token), 403);
    expectStatus(await api.call('GET', `/v1/lead-sources?officeId=${d.officeB}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('PUT', '/v1/lead-sources/has%20space', takeOver), 400);
    expectStatus(await api.call('PUT', '/v1/lead-sources/ok', { ...takeOver, extra: 1 }), 400);
    expectStatus(await api.call('PUT', '/v1/lead-sources/ok', { name: 'no assignee field', officeId: d.officeA }), 400);
  });
});
