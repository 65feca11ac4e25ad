import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  createAgent,
  createCustomer,
  type Directory,
  expectStatus,
  seedDirectory,
  setStatus,
} from '../helpers/directory';
import { connectTemporal } from '../helpers/temporal';

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;
let d: Directory;
const DAY = 86_400_000;

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('imports'), connectTemporal()]);
  api = await buildTestApi(database.db, temporal.client);
  d = await seedDirectory(api);
});
afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

let n = 0;
const ext = (label: string) => `${label}-${++n}`;
/** Several fresh externalIds at once, typed as a tuple of strings. */
const exts = <T extends string[]>(...labels: T) => labels.map(ext) as { [K in keyof T]: string };
const row = (externalId: string, extra: Record<string, unknown> = {}) => ({
  externalId,
  name: `name ${externalId}`,
  ...extra,
});

async function importFile(body: Record<string, unknown>, token?: string, status = 200) {
  return expectStatus(await api.call('POST', '/v1/imports/customers', body, token), status);
}
const customer = async (id: string) => expectStatus(await api.call('GET', `/v1/customers/${id}`), 200);
const byExternalId = (externalId: string) =>
  database.db.selectFrom('customers').selectAll().where('external_id', '=', externalId).executeTakeFirstOrThrow();
const history = async (id: string) =>
  (expectStatus(await api.call('GET', `/v1/customers/${id}/history`), 200).items as Array<Record<string, unknown>>).map(
    ({ field, from, to, actor, handoverId }) => ({ field, from, to, actor, handoverId }),
  );
const zero = { created: 0, updated: 0, transferred: 0, restored: 0, trashed: 0, unchanged: 0 };

describe('POST /v1/imports/customers: resolution by externalId', () => {
  test('nowhere → created; the same file again → unchanged; a changed field → updated', async () => {
    const owner = await createAgent(api, d.officeA);
    const a = ext('new');
    const b = ext('new');
    const file = {
      ownerId: owner,
      mode: 'update',
      customers: [row(a, { email: 'a@example.test', kind: 'seller', subscribed: false }), row(b)],
    };
    expect(await importFile(file, d.adminA.token)).toEqual({ ...zero, created: 2 });
    const created = await byExternalId(a);
    expect(await customer(created.id)).toMatchObject({
      officeId: d.officeA,
      ownerId: owner,
      name: `name ${a}`,
      email: 'a@example.test',
      kind: 'seller',
      subscribed: false,
      externalId: a,
      trashedAt: null,
    });
    // Defaults for a row naming neither kind nor subscribed.
    expect(await customer((await byExternalId(b)).id)).toMatchObject({ kind: 'buyer', subscribed: true, email: null });
    expect(await history(created.id)).toEqual([
      { field: 'ownerId', from: null, to: owner, actor: d.adminA.id, handoverId: null },
    ]);

    expect(await importFile(file, d.adminA.token)).toEqual({ ...zero, unchanged: 2 });
    // Absent optional fields keep their values: still unchanged.
    expect(await importFile({ ...file, customers: [row(a), row(b)] })).toEqual({ ...zero, unchanged: 2 });

    const changed = { ...file, customers: [row(a, { name: 'renamed', phone: '+81 3' }), row(b)] };
    expect(await importFile(changed)).toEqual({ ...zero, updated: 1, unchanged: 1 });
    expect(await customer(created.id)).toMatchObject({
      name: 'renamed',
      phone: '+81 3',
      email: 'a@example.test',
      kind: 'seller',
      subscribed: false,
    });
    // An update changes no owner, office or trash: no new history row.
    expect(await history(created.id)).toHaveLength(1);
  });

  test("in ownerId's trash → restored and updated", async () => {
    const owner = await createAgent(api, d.officeA);
    const e = ext('trashed-own');
    const id = await createCustomer(api, d.officeA, owner, { externalId: e });
    expectStatus(await api.call('DELETE', `/v1/customers/${id}`), 200);

    expect(await importFile({ ownerId: owner, mode: 'update', customers: [row(e, { name: 'back' })] })).toEqual({
      ...zero,
      restored: 1,
    });
    expect(await customer(id)).toMatchObject({ ownerId: owner, name: 'back', trashedAt: null, purgeAfter: null });
    expect((await history(id))[0]).toEqual({
      field: 'trashed',
      from: 'true',
      to: 'false',
      actor: 'org-admin',
      handoverId: null,
    });
  });

  test('owned by another agent, transfer (default) → moved with its id, open records and history', async () => {
    const owner = await createAgent(api, d.officeA);
    const other = await createAgent(api, d.officeB);
    const e = ext('transfer');
    const id = await createCustomer(api, d.officeB, other, { externalId: e });
    const { db } = database;
    await db
      .insertInto('customer_records')
      .values([
        { customer_id: id, type: 'task', title: 'open, old owner', assignee_id: other, status: 'open' },
        { customer_id: id, type: 'visit_report', title: 'done, old owner', assignee_id: other, status: 'done' },
        { customer_id: id, type: 'task', title: 'open, someone else', assignee_id: d.agentB.id, status: 'open' },
      ])
      .execute();

    expect(await importFile({ ownerId: owner, mode: 'update', customers: [row(e)] })).toEqual({
      ...zero,
      transferred: 1,
    });
    expect(await customer(id)).toMatchObject({ id, ownerId: owner, officeId: d.officeA, externalId: e });
    const records = await db
      .selectFrom('customer_records')
      .select(['title', 'assignee_id'])
      .where('customer_id', '=', id)
      .orderBy('title')
      .execute();
    expect(records).toEqual([
      { title: 'done, old owner', assignee_id: other },
      { title: 'open, old owner', assignee_id: owner },
      { title: 'open, someone else', assignee_id: d.agentB.id },
    ]);
    const h = await history(id);
    expect(h).toHaveLength(3);
    expect(h).toEqual(
      expect.arrayContaining([
        { field: 'ownerId', from: other, to: owner, actor: 'org-admin', handoverId: null },
        { field: 'officeId', from: d.officeB, to: d.officeA, actor: 'org-admin', handoverId: null },
        { field: 'ownerId', from: null, to: other, actor: 'org-admin', handoverId: null },
      ]),
    );
  });

  test('owned by another agent, transfer: false → the old one to the trash (externalId freed), a new one created', async () => {
    const owner = await createAgent(api, d.officeA);
    const other = await createAgent(api, d.officeA);
    const e = ext('replace');
    const oldId = await createCustomer(api, d.officeA, other, { externalId: e });
    await database.db
      .insertInto('customer_records')
      .values({ customer_id: oldId, type: 'task', title: 'stays behind', assignee_id: other })
      .execute();

    const before = Date.now();
    expect(await importFile({ ownerId: owner, mode: 'update', transfer: false, customers: [row(e)] })).toEqual({
      ...zero,
      created: 1,
      trashed: 1,
    });
    const old = await customer(oldId);
    expect(old).toMatchObject({ ownerId: other, externalId: null, trashedAt: expect.any(String) });
    const purge = Date.parse(old.purgeAfter) - Date.parse(old.trashedAt);
    expect(purge).toBe(14 * DAY);
    expect(Date.parse(old.trashedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect((await history(oldId))[0]).toEqual({
      field: 'trashed',
      from: 'false',
      to: 'true',
      actor: 'org-admin',
      handoverId: null,
    });

    const fresh = await byExternalId(e);
    expect(fresh.id).not.toBe(oldId);
    expect(fresh).toMatchObject({ owner_id: owner, trashed_at: null });
    const records = await database.db
      .selectFrom('customer_records')
      .select('customer_id')
      .where('title', '=', 'stays behind')
      .execute();
    expect(records).toEqual([{ customer_id: oldId }]);
  });

  test("in another agent's trash → restored and moved, with or without transfer", async () => {
    const owner = await createAgent(api, d.officeA);
    const other = await createAgent(api, d.officeB);
    for (const transfer of [true, false]) {
      const e = ext('trashed-other');
      const id = await createCustomer(api, d.officeB, other, { externalId: e });
      expectStatus(await api.call('DELETE', `/v1/customers/${id}`), 200);
      expect(await importFile({ ownerId: owner, mode: 'update', transfer, customers: [row(e)] })).toEqual({
        ...zero,
        restored: 1,
      });
      expect(await customer(id)).toMatchObject({
        ownerId: owner,
        officeId: d.officeA,
        trashedAt: null,
        purgeAfter: null,
      });
      expect((await history(id)).slice(0, 3)).toEqual(
        expect.arrayContaining([
          { field: 'trashed', from: 'true', to: 'false', actor: 'org-admin', handoverId: null },
          { field: 'ownerId', from: other, to: owner, actor: 'org-admin', handoverId: null },
          { field: 'officeId', from: d.officeB, to: d.officeA, actor: 'org-admin', handoverId: null },
        ]),
      );
    }
  });
});

describe('POST /v1/imports/customers: modes', () => {
  test('update leaves the missing customers; update-with-delete trashes them (never other owners’ or trashed ones)', async () => {
    const owner = await createAgent(api, d.officeA);
    const kept = ext('kept');
    const missing = await createCustomer(api, d.officeA, owner, { externalId: ext('missing') });
    const noExternalId = await createCustomer(api, d.officeA, owner);
    const alreadyTrashed = await createCustomer(api, d.officeA, owner);
    expectStatus(await api.call('DELETE', `/v1/customers/${alreadyTrashed}`), 200);
    const othersCustomer = await createCustomer(api, d.officeA, d.agentA2.id);

    const file = { ownerId: owner, customers: [row(kept)] };
    expect(await importFile({ ...file, mode: 'update' }, d.adminA.token)).toEqual({ ...zero, created: 1 });
    expect((await customer(missing)).trashedAt).toBeNull();

    expect(await importFile({ ...file, mode: 'update-with-delete' }, d.adminA.token)).toEqual({
      ...zero,
      unchanged: 1,
      trashed: 2,
    });
    for (const id of [missing, noExternalId]) {
      expect(await customer(id)).toMatchObject({ ownerId: owner, trashedAt: expect.any(String) });
      expect((await history(id))[0]).toMatchObject({ field: 'trashed', from: 'false', to: 'true', actor: d.adminA.id });
    }
    expect((await customer(othersCustomer)).trashedAt).toBeNull();
    expect(await history(alreadyTrashed)).toHaveLength(2); // created, trashed once: not again
    expect((await byExternalId(kept)).trashed_at).toBeNull();
  });

  test('a mixed file: every case at once, counts add up', async () => {
    const owner = await createAgent(api, d.officeA);
    const other = await createAgent(api, d.officeA);
    const [own, ownTrashed, theirs, theirsTrashed, fresh, gone] = exts(
      'own',
      'ownT',
      'theirs',
      'theirsT',
      'fresh',
      'gone',
    );
    await createCustomer(api, d.officeA, owner, { externalId: own, name: `name ${own}` });
    const t1 = await createCustomer(api, d.officeA, owner, { externalId: ownTrashed });
    await createCustomer(api, d.officeA, other, { externalId: theirs });
    const t2 = await createCustomer(api, d.officeA, other, { externalId: theirsTrashed });
    await createCustomer(api, d.officeA, owner, { externalId: gone });
    for (const id of [t1, t2]) expectStatus(await api.call('DELETE', `/v1/customers/${id}`), 200);

    const result = await importFile({
      ownerId: owner,
      mode: 'update-with-delete',
      customers: [own, ownTrashed, theirs, theirsTrashed, fresh].map((e) => row(e)),
    });
    expect(result).toEqual({ created: 1, updated: 0, transferred: 1, restored: 2, trashed: 1, unchanged: 1 });
    const { rows } = await sql<{ external_id: string; trashed: boolean }>`
      select external_id, trashed_at is not null as trashed from customers
       where owner_id = ${owner} order by external_id`.execute(database.db);
    expect(rows).toHaveLength(6);
    expect(rows.filter((r) => r.trashed).map((r) => r.external_id)).toEqual([gone]);
  });
});

describe('POST /v1/imports/customers: refusals and atomicity', () => {
  test('400 for duplicate externalIds in the file, nothing written', async () => {
    const e = ext('dup');
    const res = await importFile(
      { ownerId: d.agentA.id, mode: 'update', customers: [row(e), row(ext('x')), row(e)] },
      undefined,
      400,
    );
    expect(res.errors[0]).toMatchObject({ path: 'body/customers/2/externalId' });
    expect(await database.db.selectFrom('customers').select('id').where('external_id', '=', e).execute()).toEqual([]);
  });

  test('400 for schema-invalid bodies', async () => {
    await importFile({ ownerId: d.agentA.id, mode: 'replace', customers: [row(ext('m'))] }, undefined, 400);
    await importFile({ ownerId: d.agentA.id, mode: 'update', customers: [] }, undefined, 400);
    await importFile({ ownerId: d.agentA.id, mode: 'update', customers: [{ externalId: 'x' }] }, undefined, 400);
  });

  test('403 for a plain agent and for an admin of another office; 422 for an owner that cannot receive', async () => {
    const file = (ownerId: string) => ({ ownerId, mode: 'update', customers: [row(ext('auth'))] });
    await importFile(file(d.agentA.id), d.agentA.token, 403);
    await importFile(file(d.agentA.id), d.adminB.token, 403);
    await importFile(file('00000000-0000-0000-0000-000000000000'), undefined, 422);
    const leaving = await createAgent(api, d.officeA);
    await setStatus(database.db, leaving, 'leaving');
    const problem = await importFile(file(leaving), d.adminA.token, 422);
    expect(problem.errors).toEqual([{ path: 'body/ownerId', message: expect.stringContaining('leaving') }]);
    const offboarded = await createAgent(api, d.officeA);
    await setStatus(database.db, offboarded, 'offboarded');
    await importFile(file(offboarded), undefined, 422);
    // An absent agent may receive.
    const absent = await createAgent(api, d.officeA);
    await setStatus(database.db, absent, 'absent');
    expect(await importFile(file(absent), d.adminA.token)).toEqual({ ...zero, created: 1 });
  });

  test('an office admin may not take a customer of another office (403, nothing changed); the org admin may', async () => {
    const owner = await createAgent(api, d.officeA);
    const e = ext('foreign');
    const id = await createCustomer(api, d.officeB, d.agentB.id, { externalId: e });
    const file = { ownerId: owner, mode: 'update', customers: [row(ext('mine')), row(e)] };
    for (const transfer of [true, false]) await importFile({ ...file, transfer }, d.adminA.token, 403);
    expect(await customer(id)).toMatchObject({ ownerId: d.agentB.id, officeId: d.officeB, trashedAt: null });
    expect(await database.db.selectFrom('customers').select('id').where('owner_id', '=', owner).execute()).toEqual([]);
    expect(await importFile(file)).toEqual({ ...zero, created: 1, transferred: 1 });
  });

  test('one transaction: a row the database rejects late leaves everything as it was', async () => {
    const owner = await createAgent(api, d.officeA);
    const other = await createAgent(api, d.officeA);
    const [moved, replaced, trashedLater] = exts('mv', 'rp', 'tl');
    const movedId = await createCustomer(api, d.officeA, other, { externalId: moved });
    const replacedId = await createCustomer(api, d.officeA, d.agentA2.id, { externalId: replaced });
    const laterId = await createCustomer(api, d.officeA, owner, { externalId: trashedLater });
    const historyBefore = await database.db
      .selectFrom('customer_history')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    // A constraint the API does not know: the new row named "boom" fails at INSERT, after the trash and move statements.
    await sql`alter table customers add constraint test_no_boom check (name <> 'boom')`.execute(database.db);
    try {
      const res = await api.call('POST', '/v1/imports/customers', {
        ownerId: owner,
        mode: 'update-with-delete',
        customers: [row(moved), row(ext('new')), { externalId: ext('bad'), name: 'boom' }],
      });
      expectStatus(res, 500);
      const res2 = await api.call('POST', '/v1/imports/customers', {
        ownerId: owner,
        mode: 'update',
        transfer: false,
        customers: [row(replaced), { externalId: ext('bad'), name: 'boom' }],
      });
      expectStatus(res2, 500);
    } finally {
      await sql`alter table customers drop constraint test_no_boom`.execute(database.db);
    }
    expect(await customer(movedId)).toMatchObject({ ownerId: other, trashedAt: null });
    expect(await customer(replacedId)).toMatchObject({ ownerId: d.agentA2.id, externalId: replaced, trashedAt: null });
    expect(await customer(laterId)).toMatchObject({ ownerId: owner, trashedAt: null });
    expect(await database.db.selectFrom('customers').select('id').where('owner_id', '=', owner).execute()).toHaveLength(
      1,
    );
    const historyAfter = await database.db
      .selectFrom('customer_history')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    expect(historyAfter.n).toBe(historyBefore.n);
  });

  test('10,000 rows in one call', async () => {
    const owner = await createAgent(api, d.officeA);
    const customers = Array.from({ length: 10_000 }, (_, i) => row(`bulk-${i}`));
    expect(await importFile({ ownerId: owner, mode: 'update', customers })).toEqual({ ...zero, created: 10_000 });
    expect(await importFile({ ownerId: owner, mode: 'update-with-delete', customers })).toEqual({
      ...zero,
      unchanged: 10_000,
    });
  });
});
