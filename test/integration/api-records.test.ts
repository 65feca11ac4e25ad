import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  createAgent,
  createCustomer,
  type Directory,
  expectStatus,
  listAll,
  seedDirectory,
  setStatus,
} from '../helpers/directory';
import { waitForLockWaits } from '../helpers/locks';
import { connectTemporal } from '../helpers/temporal';

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;
let d: Directory;
const MISSING = '00000000-0000-0000-0000-000000000000';

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('api_records'), connectTemporal()]);
  api = await buildTestApi(database.db, temporal.client);
  d = await seedDirectory(api);
});
afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

const postRecord = (customerId: string, body: Record<string, unknown>, token?: string) =>
  api.call('POST', `/v1/customers/${customerId}/records`, { type: 'task', title: 'Call back', ...body }, token);

describe('POST /v1/customers/{id}/records', () => {
  test('201; the assignee defaults to the customer’s owner, or is given, or none', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const byDefault = expectStatus(await postRecord(customer, { dueAt: '2030-01-02T03:04:05Z' }, d.adminA.token), 201);
    expect(byDefault).toEqual({
      id: expect.any(String),
      customerId: customer,
      type: 'task',
      title: 'Call back',
      dueAt: '2030-01-02T03:04:05.000Z',
      assigneeId: d.agentA.id,
      status: 'open',
    });
    const given = expectStatus(await postRecord(customer, { type: 'visit_report', assigneeId: d.agentA2.id }), 201);
    expect(given).toMatchObject({ type: 'visit_report', assigneeId: d.agentA2.id, dueAt: null });
    expect(expectStatus(await postRecord(customer, { assigneeId: null }), 201).assigneeId).toBeNull();
    const ownerless = await createCustomer(api, d.officeA, null);
    expect(expectStatus(await postRecord(ownerless, {}), 201).assigneeId).toBeNull();
  });

  test('an owner in a handover is no default: 422 saying so; an explicit active assignee still works', async () => {
    const owner = await createAgent(api, d.officeA);
    const customer = await createCustomer(api, d.officeA, owner);
    await setStatus(database.db, owner, 'leaving');
    const problem = expectStatus(await postRecord(customer, {}), 422);
    expect(problem.detail).toMatch(/owner.*leaving.*handover/);
    expect(expectStatus(await postRecord(customer, { assigneeId: d.agentA.id }), 201).assigneeId).toBe(d.agentA.id);
  });

  test('an explicit assignee must be an active or absent agent of the customer’s office', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const absent = await createAgent(api, d.officeA);
    await setStatus(database.db, absent, 'absent');
    expectStatus(await postRecord(customer, { assigneeId: absent }), 201);
    for (const status of ['leaving', 'offboarded'] as const) {
      const id = await createAgent(api, d.officeA);
      await setStatus(database.db, id, status);
      expect(expectStatus(await postRecord(customer, { assigneeId: id }), 422).detail).toContain(status);
    }
    expectStatus(await postRecord(customer, { assigneeId: d.agentB.id }), 422);
    expectStatus(await postRecord(customer, { assigneeId: MISSING }), 422);
  });

  test('refusals: 403 plain agent (even the owner) and other office, 404/403 unknown, 400 schema', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    expectStatus(await postRecord(customer, {}, d.agentA.token), 403);
    expectStatus(await postRecord(customer, {}, d.adminB.token), 403);
    expectStatus(await postRecord(MISSING, {}), 404);
    expectStatus(await postRecord(MISSING, {}, d.adminA.token), 403);
    expectStatus(await postRecord(customer, { type: 'meeting' }), 400);
    expectStatus(await postRecord(customer, { title: '' }), 400);
    expectStatus(await postRecord(customer, { dueAt: 'tomorrow' }), 400);
    expectStatus(await postRecord(customer, { status: 'done' }), 400);
  });
});

describe('GET /v1/customers/{id}/records', () => {
  test('the owner and the office admins read them, page by page; others get 403', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(expectStatus(await postRecord(customer, { title: `r${i}` }), 201).id);
    const paged = await listAll(api, `/v1/customers/${customer}/records?limit=2`, d.agentA.token);
    expect(paged.pages).toBe(3);
    expect(paged.items.map((r) => r.id)).toEqual([...ids].sort());
    expectStatus(await api.call('GET', `/v1/customers/${customer}/records`, undefined, d.adminA.token), 200);
    expectStatus(await api.call('GET', `/v1/customers/${customer}/records`, undefined, d.adminB.token), 403);
    const other = await createCustomer(api, d.officeA, d.agentA2.id);
    expectStatus(await api.call('GET', `/v1/customers/${other}/records`, undefined, d.agentA.token), 403);
    expectStatus(await api.call('GET', `/v1/customers/${MISSING}/records`), 404);
  });
});

describe('PATCH /v1/customers/{id}/records/{recordId}', () => {
  test('status, title, dueAt and assignee change', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const record = expectStatus(await postRecord(customer, { dueAt: '2030-01-01T00:00:00Z' }), 201);
    const url = `/v1/customers/${customer}/records/${record.id}`;
    const patched = expectStatus(
      await api.call(
        'PATCH',
        url,
        { status: 'done', title: 'Called', dueAt: null, assigneeId: d.agentA2.id },
        d.adminA.token,
      ),
      200,
    );
    expect(patched).toEqual({ ...record, status: 'done', title: 'Called', dueAt: null, assigneeId: d.agentA2.id });
    expect(expectStatus(await api.call('PATCH', url, { assigneeId: null }), 200).assigneeId).toBeNull();
  });

  test('a new assignee, or reopening for one in a handover, must be able to take it (422)', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const leaving = await createAgent(api, d.officeA);
    const record = expectStatus(await postRecord(customer, { assigneeId: leaving }), 201);
    const url = `/v1/customers/${customer}/records/${record.id}`;
    expectStatus(await api.call('PATCH', url, { status: 'done' }), 200);
    await setStatus(database.db, leaving, 'leaving');
    // Done records keep their assignee; renaming is fine; reopening would give it something new.
    expectStatus(await api.call('PATCH', url, { title: 'renamed' }), 200);
    expect(expectStatus(await api.call('PATCH', url, { status: 'open' }), 422).detail).toContain('leaving');
    const open = expectStatus(await postRecord(customer, {}), 201);
    const openUrl = `/v1/customers/${customer}/records/${open.id}`;
    expectStatus(await api.call('PATCH', openUrl, { assigneeId: leaving }), 422);
    expectStatus(await api.call('PATCH', openUrl, { assigneeId: d.agentB.id }), 422);
  });

  test('refusals: 403 plain agent and other office, 404 unknown or another customer’s record, 400 schema', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const record = expectStatus(await postRecord(customer, {}), 201);
    const url = `/v1/customers/${customer}/records/${record.id}`;
    expectStatus(await api.call('PATCH', url, { status: 'done' }, d.agentA.token), 403);
    expectStatus(await api.call('PATCH', url, { status: 'done' }, d.adminB.token), 403);
    const other = await createCustomer(api, d.officeA, d.agentA.id);
    expectStatus(await api.call('PATCH', `/v1/customers/${other}/records/${record.id}`, { status: 'done' }), 404);
    expectStatus(await api.call('PATCH', `/v1/customers/${customer}/records/${MISSING}`, { status: 'done' }), 404);
    expectStatus(await api.call('PATCH', url, {}), 400);
    expectStatus(await api.call('PATCH', url, { status: 'closed' }), 400);
    expectStatus(await api.call('PATCH', url, { customerId: other }), 400);
  });
});

describe('assignment racing a handover', () => {
  test('a handover marking the owner leaving mid-request: the assignment waits for it, then is refused', async () => {
    const agent = await createAgent(api, d.officeA);
    let release = () => {};
    let locked = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // The handover's "mark leaving" transaction, not yet committed.
    const handover = database.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('agents')
        .set({ status: 'leaving', updated_at: new Date() })
        .where('id', '=', agent)
        .execute();
      locked();
      await released;
    });
    await isLocked;
    let settled = false;
    const pending = api
      .call('POST', '/v1/customers', { officeId: d.officeA, ownerId: agent, name: 'racing', kind: 'buyer' })
      .finally(() => {
        settled = true;
      });
    // The create really waits on the agent row (not merely slow), and has not answered.
    await waitForLockWaits(database.db, 1, 'the create, behind the uncommitted "mark leaving"');
    expect(settled).toBe(false);
    release();
    await handover;
    expect(expectStatus(await pending, 422).detail).toContain('leaving');
  });
});
