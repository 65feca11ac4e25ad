import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  createAgent,
  createCustomer,
  createOffice,
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
const DAY = 86_400_000;

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('api_customers'), connectTemporal()]);
  api = await buildTestApi(database.db, temporal.client);
  d = await seedDirectory(api);
});
afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

const history = async (id: string, token?: string) =>
  expectStatus(await api.call('GET', `/v1/customers/${id}/history`, undefined, token), 200).items;

describe('POST /v1/customers', () => {
  test('201 with every field, and an ownerId history row from null', async () => {
    const body = {
      officeId: d.officeA,
      ownerId: d.agentA.id,
      name: '山田 太郎',
      email: 'yamada@example.test',
      phone: '+81 3-1234-5678',
      kind: 'seller',
      externalId: 'crm-1',
    };
    const customer = expectStatus(await api.call('POST', '/v1/customers', body, d.adminA.token), 201);
    expect(customer).toEqual({
      id: expect.any(String),
      ...body,
      subscribed: true,
      trashedAt: null,
      purgeAfter: null,
    });
    expect(await history(customer.id)).toEqual([
      { at: expect.any(String), field: 'ownerId', from: null, to: d.agentA.id, actor: d.adminA.id, handoverId: null },
    ]);
    // A duplicate externalId is 409.
    expectStatus(await api.call('POST', '/v1/customers', { ...body, name: 'other' }), 409);
  });

  test('no owner: no history row; subscribed may be false', async () => {
    const id = await createCustomer(api, d.officeA, null, { subscribed: false });
    const customer = expectStatus(await api.call('GET', `/v1/customers/${id}`), 200);
    expect(customer).toMatchObject({ ownerId: null, subscribed: false, email: null, phone: null, externalId: null });
    expect(await history(id)).toEqual([]);
  });

  test('the owner must be an active or absent agent of that office (422 naming it)', async () => {
    const post = (ownerId: string, officeId = d.officeA) =>
      api.call('POST', '/v1/customers', { officeId, ownerId, name: 'C', kind: 'buyer' });
    const absent = await createAgent(api, d.officeA);
    await setStatus(database.db, absent, 'absent');
    expectStatus(await post(absent), 201);
    for (const status of ['leaving', 'offboarded'] as const) {
      const id = await createAgent(api, d.officeA);
      await setStatus(database.db, id, status);
      const problem = expectStatus(await post(id), 422);
      expect(problem.detail).toContain(id);
      expect(problem.detail).toContain(status);
      expect(problem.errors).toEqual([{ path: 'body/ownerId', message: expect.stringContaining(status) }]);
    }
    expect(expectStatus(await post(d.agentB.id), 422).detail).toContain('not in office');
    expectStatus(await post(MISSING), 422);
    expectStatus(await post(d.agentA.id, MISSING), 422);
  });

  test('refusals: 403 other office and plain agent, 400 schema', async () => {
    const body = { officeId: d.officeB, ownerId: null, name: 'C', kind: 'buyer' };
    expectStatus(await api.call('POST', '/v1/customers', body, d.adminA.token), 403);
    expectStatus(await api.call('POST', '/v1/customers', { ...body, officeId: d.officeA }, d.agentA.token), 403);
    expectStatus(await api.call('POST', '/v1/customers', body, null), 401);
    for (const bad of [
      { ...body, kind: 'renter' },
      { ...body, extra: 1 },
      { officeId: d.officeB, name: 'C', kind: 'buyer' },
      { ...body, name: 'x'.repeat(201) },
      { ...body, email: 'nope' },
      { ...body, ownerId: '' },
    ]) {
      expectStatus(await api.call('POST', '/v1/customers', bad), 400);
    }
  });
});

describe('GET /v1/customers/{id}', () => {
  test('the owner and its office admins read it; others get 403; unknown is 404 for the org admin only', async () => {
    const mine = await createCustomer(api, d.officeA, d.agentA.id);
    const theirs = await createCustomer(api, d.officeA, d.agentA2.id);
    expectStatus(await api.call('GET', `/v1/customers/${mine}`, undefined, d.agentA.token), 200);
    expectStatus(await api.call('GET', `/v1/customers/${theirs}`, undefined, d.adminA.token), 200);
    expectStatus(await api.call('GET', `/v1/customers/${theirs}`, undefined, d.agentA.token), 403);
    expectStatus(await api.call('GET', `/v1/customers/${mine}`, undefined, d.adminB.token), 403);
    expectStatus(await api.call('GET', `/v1/customers/${MISSING}`), 404);
    expectStatus(await api.call('GET', `/v1/customers/${MISSING}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', `/v1/customers/${MISSING}`, undefined, d.agentA.token), 403);
  });
});

describe('GET /v1/customers', () => {
  test('filters: owner, office, subscribed, trashed (false by default, true, any); pages by keyset', async () => {
    const office = await createOffice(api);
    const owner = await createAgent(api, office);
    const ids = {
      plain: await createCustomer(api, office, owner),
      unsubscribed: await createCustomer(api, office, owner, { subscribed: false }),
      trashed: await createCustomer(api, office, owner),
      noOwner: await createCustomer(api, office, null),
    };
    expectStatus(await api.call('DELETE', `/v1/customers/${ids.trashed}`), 200);
    const list = async (query: string) =>
      (await listAll(api, `/v1/customers?officeId=${office}&limit=1${query}`)).items.map((c) => c.id).sort();
    expect(await list('')).toEqual([ids.plain, ids.unsubscribed, ids.noOwner].sort());
    expect(await list('&trashed=false')).toEqual([ids.plain, ids.unsubscribed, ids.noOwner].sort());
    expect(await list('&trashed=true')).toEqual([ids.trashed]);
    expect(await list('&trashed=any')).toEqual(Object.values(ids).sort());
    expect(await list('&subscribed=false&trashed=any')).toEqual([ids.unsubscribed]);
    expect(await list('&subscribed=true')).toEqual([ids.plain, ids.noOwner].sort());
    expect(await list(`&ownerId=${owner}&trashed=any`)).toEqual([ids.plain, ids.unsubscribed, ids.trashed].sort());
    const paged = await listAll(api, `/v1/customers?officeId=${office}&trashed=any&limit=3`);
    expect(paged.pages).toBe(2);
    expect(paged.items.map((c) => c.id)).toEqual(Object.values(ids).sort());
    expectStatus(await api.call('GET', '/v1/customers?trashed=maybe'), 400);
    expectStatus(await api.call('GET', '/v1/customers?subscribed=perhaps'), 400);
  });

  test('a plain agent lists its own customers only; an office admin its own office only', async () => {
    const mine = await createCustomer(api, d.officeA, d.agentA.id);
    await createCustomer(api, d.officeA, d.agentA2.id);
    const own = await listAll(api, '/v1/customers?trashed=any', d.agentA.token);
    const ownRows = await database.db
      .selectFrom('customers')
      .select('id')
      .where('owner_id', '=', d.agentA.id)
      .execute();
    expect(ownRows.map((c) => c.id)).toContain(mine);
    expect(own.items.map((c) => c.id).sort()).toEqual(ownRows.map((c) => c.id).sort());
    expectStatus(await api.call('GET', `/v1/customers?ownerId=${d.agentA2.id}`, undefined, d.agentA.token), 403);
    // Untrashed customers by default; exactly office A's.
    const office = await listAll(api, '/v1/customers', d.adminA.token);
    const officeRows = await database.db
      .selectFrom('customers')
      .select('id')
      .where('office_id', '=', d.officeA)
      .where('trashed_at', 'is', null)
      .execute();
    expect(officeRows.length).toBeGreaterThan(1);
    expect(office.items.map((c) => c.id).sort()).toEqual(officeRows.map((c) => c.id).sort());
    expectStatus(await api.call('GET', `/v1/customers?officeId=${d.officeB}`, undefined, d.adminA.token), 403);
  });
});

describe('trash', () => {
  test('DELETE trashes (purgeAfter = trashedAt + 14 days), restore clears both; both in the history', async () => {
    const id = await createCustomer(api, d.officeA, d.agentA.id);
    const trashed = expectStatus(await api.call('DELETE', `/v1/customers/${id}`, undefined, d.adminA.token), 200);
    expect(Date.parse(trashed.purgeAfter) - Date.parse(trashed.trashedAt)).toBe(14 * DAY);
    expect(Math.abs(Date.parse(trashed.trashedAt) - Date.now())).toBeLessThan(60_000);
    expectStatus(await api.call('DELETE', `/v1/customers/${id}`), 409);
    // Never a hard delete: the row is still there, and still readable by its owner.
    expectStatus(await api.call('GET', `/v1/customers/${id}`, undefined, d.agentA.token), 200);

    const restored = expectStatus(await api.call('POST', `/v1/customers/${id}/restore`), 200);
    expect(restored).toMatchObject({ id, trashedAt: null, purgeAfter: null, ownerId: d.agentA.id });
    expectStatus(await api.call('POST', `/v1/customers/${id}/restore`), 409);

    const entries = await history(id, d.agentA.token);
    expect(
      entries.map((e: { field: string; from: string; to: string; actor: string }) => [e.field, e.from, e.to, e.actor]),
    ).toEqual([
      ['trashed', 'true', 'false', 'org-admin'],
      ['trashed', 'false', 'true', d.adminA.id],
      ['ownerId', null, d.agentA.id, 'org-admin'],
    ]);
    const [first] = entries;
    expect(first.handoverId).toBeNull();
    expect(new Date(first.at).toISOString()).toBe(first.at);

    // The history pages newest first too.
    const paged = await listAll(api, `/v1/customers/${id}/history?limit=1`);
    expect(paged.pages).toBe(3);
    expect(paged.items).toEqual(entries);
  });

  test('TRASH_RETENTION_DAYS sets purgeAfter', async () => {
    const api3 = await buildTestApi(database.db, temporal.client, { TRASH_RETENTION_DAYS: '3' });
    try {
      const id = await createCustomer(api3, d.officeA, null);
      const trashed = expectStatus(await api3.call('DELETE', `/v1/customers/${id}`), 200);
      expect(Date.parse(trashed.purgeAfter) - Date.parse(trashed.trashedAt)).toBe(3 * DAY);
    } finally {
      await api3.app.close();
    }
  });

  test('refusals: plain agent 403 (even its own), other office 403, unknown 404/403', async () => {
    const id = await createCustomer(api, d.officeA, d.agentA.id);
    expectStatus(await api.call('DELETE', `/v1/customers/${id}`, undefined, d.agentA.token), 403);
    expectStatus(await api.call('DELETE', `/v1/customers/${id}`, undefined, d.adminB.token), 403);
    expectStatus(await api.call('POST', `/v1/customers/${id}/restore`, undefined, d.adminB.token), 403);
    expectStatus(await api.call('DELETE', `/v1/customers/${MISSING}`), 404);
    expectStatus(await api.call('DELETE', `/v1/customers/${MISSING}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('POST', `/v1/customers/${MISSING}/restore`), 404);
    expectStatus(await api.call('GET', `/v1/customers/${MISSING}/history`), 404);
    expectStatus(await api.call('GET', `/v1/customers/${id}/history`, undefined, d.adminB.token), 403);
    expectStatus(await api.call('GET', `/v1/customers/${id}/history?cursor=abc`), 400);
    const other = await createCustomer(api, d.officeA, d.agentA2.id);
    expectStatus(await api.call('GET', `/v1/customers/${other}/history`, undefined, d.agentA.token), 403);
  });
});

describe('POST /v1/customers/bulk', () => {
  const row = (officeId: string, ownerId: string | null, i: number, extra: Record<string, unknown> = {}) => ({
    officeId,
    ownerId,
    name: `bulk ${i}`,
    kind: 'buyer',
    ...extra,
  });
  const countIn = async (officeId: string) =>
    (await database.db.selectFrom('customers').select('id').where('office_id', '=', officeId).execute()).length;

  test('10,000 customers in one request: 201 with the ids in order, each with its history row', async () => {
    const office = await createOffice(api);
    const owner = await createAgent(api, office);
    const customers = Array.from({ length: 10_000 }, (_, i) =>
      row(office, i % 10 === 0 ? null : owner, i, { externalId: `bulk-${office}-${i}`, subscribed: i % 2 === 0 }),
    );
    const { ids } = expectStatus(await api.call('POST', '/v1/customers/bulk', { customers }), 201);
    expect(ids).toHaveLength(10_000);
    const rows = await database.db.selectFrom('customers').selectAll().where('office_id', '=', office).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    ids.forEach((id: string, i: number) => {
      expect(byId.get(id)).toMatchObject({ external_id: `bulk-${office}-${i}`, subscribed: i % 2 === 0 });
    });
    const historyRows = await database.db
      .selectFrom('customer_history')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('customer_id', 'in', ids)
      .executeTakeFirstOrThrow();
    expect(Number(historyRows.n)).toBe(9_000);
    expect(expectStatus(await api.call('GET', `/v1/agents/${owner}`), 200).customerCount).toBe(9_000);
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: [...customers, customers[0]] }), 400);
  });

  test('all or nothing: one impossible row refuses the whole file (422, every bad row named)', async () => {
    const office = await createOffice(api);
    const owner = await createAgent(api, office);
    const leaving = await createAgent(api, office);
    await setStatus(database.db, leaving, 'leaving');
    const customers = Array.from({ length: 50 }, (_, i) => row(office, owner, i));
    customers[7] = row(office, leaving, 7);
    customers[30] = row(office, d.agentB.id, 30);
    const problem = expectStatus(await api.call('POST', '/v1/customers/bulk', { customers }), 422);
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual([
      'body/customers/7/ownerId',
      'body/customers/30/ownerId',
    ]);
    expect(problem.detail).toContain('leaving');
    expect(await countIn(office)).toBe(0);
  });

  test('duplicate externalIds, in the file or already taken, are 409 and insert nothing', async () => {
    const office = await createOffice(api);
    await createCustomer(api, office, null, { externalId: `taken-${office}` });
    const inFile = [
      row(office, null, 0, { externalId: `x-${office}` }),
      row(office, null, 1, { externalId: `x-${office}` }),
    ];
    const p1 = expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: inFile }), 409);
    expect(p1.errors).toEqual([
      { path: 'body/customers/1/externalId', message: expect.stringContaining('body/customers/0') },
    ]);
    const taken = [row(office, null, 0), row(office, null, 1, { externalId: `taken-${office}` })];
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: taken }), 409);
    expect(await countIn(office)).toBe(1);
  });

  test('refusals: other office 403, plain agent 403, empty or malformed 400, unknown office 422', async () => {
    const mixed = [row(d.officeA, null, 0), row(d.officeB, null, 1)];
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: mixed }, d.adminA.token), 403);
    const own = [row(d.officeA, d.agentA.id, 0)];
    expect(
      expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: own }, d.adminA.token), 201).ids,
    ).toHaveLength(1);
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: own }, d.agentA.token), 403);
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: [] }), 400);
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: [{ ...own[0], kind: 'x' }] }), 400);
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: own, extra: 1 }), 400);
    expectStatus(await api.call('POST', '/v1/customers/bulk', { customers: [row(MISSING, null, 0)] }), 422);
  });
});
