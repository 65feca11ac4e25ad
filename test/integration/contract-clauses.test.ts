/**
 * Clauses of the contract (API.md) that no other test checks as written:
 * - a handover's `progress: {planned, moved, reverted}` while blocked, mid-move, and once completed,
 *   compensated, or failed because its compensation could not finish (that `error` says what is left);
 * - the `actor` and `handoverId` on every customer history row a handover writes (invariant 8);
 * - a duplicate office `externalId` is 409 and creates nothing; `GET /v1/offices` is a paged list.
 * Expected numbers come from the seeded book (see `seedLeaver`).
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { snapshotDatabase } from '../helpers/database';
import { expectStatus, listAll } from '../helpers/directory';
import { failingFinish } from '../helpers/fail-finish';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedBook,
  seedCallback,
  seedOffice,
  untilWorkflowsEnd,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { ledgerCounts, lockLastCustomer } from '../helpers/locks';
import { agentStatus, loads, offboard, seedLeadSource, seedTeam, type Team } from '../helpers/offboard-api';

const BATCH = 5;
let env: HandoverEnv;
const { handovers: failFinish, interceptor: injectFinishFailure } = failingFinish();
/** Handovers whose `revert` fails for good: a compensation that cannot finish. */
const failRevert = new Set<string>();
const injectRevertFailure: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(input, next) {
      if (ctx.info.activityType === 'revert' && failRevert.has(String(input.args[0]))) {
        throw ApplicationFailure.nonRetryable('injected: the revert cannot run', 'InjectedFailure');
      }
      return next(input);
    },
  },
});

beforeAll(async () => {
  env = await createHandoverEnv('contract_clauses', { MOVE_BATCH_SIZE: String(BATCH), MOVE_LANES: '1' });
  await env.startWorker({ activity: [injectFinishFailure, injectRevertFailure] });
});
afterAll(() => env?.close());

interface Progress {
  planned: number;
  moved: number;
  reverted: number;
}
interface HandoverView {
  id: string;
  status: string;
  phase: string;
  progress: Progress;
  blockedBy: Array<{ leadSourceKey: string; name: string }>;
  summary: { customers: number; records: number; callbacks: number; conflicts: unknown[] } | null;
  error: string | null;
}
interface HistoryEntry {
  at: string;
  field: string;
  from: string | null;
  to: string | null;
  actor: string;
  handoverId: string | null;
}

const get = async (id: string): Promise<HandoverView> =>
  expectStatus(await env.api.call('GET', `/v1/handovers/${id}`), 200);

/**
 * The leaver's book: CUSTOMERS customers (every 10th unsubscribed, every 20th in the trash), each
 * with one done record and one open record assigned to it; one open and one done record of its
 * own on a colleague's customer; CALLBACKS callbacks that have not ended. An offboard plans every
 * customer, every open record (the colleague's customer's too) and every callback; done records stay.
 */
const CUSTOMERS = 20;
const CALLBACKS = 2;
const OPEN_RECORDS = CUSTOMERS + 1;
const PLANNED = CUSTOMERS + OPEN_RECORDS + CALLBACKS;

async function seedLeaver(t: Team) {
  const { db } = env;
  await seedBook(db, t.office, t.leaver, CUSTOMERS, 2);
  const theirs = await db
    .insertInto('customers')
    .values({ office_id: t.office, owner_id: t.successor, name: 'a colleague’s customer', kind: 'buyer' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('customer_records')
    .values([
      { customer_id: theirs.id, type: 'visit_report', title: 'done, stays', assignee_id: t.leaver, status: 'done' },
      { customer_id: theirs.id, type: 'task', title: 'open, moves', assignee_id: t.leaver, status: 'open' },
    ])
    .execute();
  for (let i = 0; i < CALLBACKS; i++) await seedCallback(db, t.leaver, 30 + i * 60);
  const book = await db.selectFrom('customers').select('id').where('owner_id', '=', t.leaver).orderBy('id').execute();
  expect(book).toHaveLength(CUSTOMERS);
  return book.map((c) => c.id);
}

/**
 * Starts an offboard of `t.leaver` that blocks on a lead source (so whatever the test arranges for
 * this handover is in place before anything is planned), as `token` (default: the org admin).
 */
async function startBlocked(t: Team, token?: string) {
  const key = await seedLeadSource(env, t.office, t.leaver);
  const started = expectStatus(
    await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor }), token),
    202,
  );
  await waitForStatus(env.api, started.id, ['blocked']);
  const unblock = async () =>
    expectStatus(
      await env.api.call('PUT', `/v1/lead-sources/${key}`, {
        name: 'Portal',
        officeId: t.office,
        defaultAssigneeId: t.admin.id,
      }),
      200,
    );
  return { id: started.id as string, key, unblock };
}

/** Every history row of `customers` through the API (newest first), only those `handoverId` wrote. */
async function historyOf(customers: string[], handoverId: string): Promise<Map<string, HistoryEntry[]>> {
  const out = new Map<string, HistoryEntry[]>();
  for (const id of customers) {
    const { items } = await listAll(env.api, `/v1/customers/${id}/history`);
    out.set(
      id,
      (items as HistoryEntry[]).filter((h) => h.handoverId === handoverId),
    );
  }
  return out;
}

/** How many customer history rows the database holds for `handoverId` (all of them, whatever the customer). */
async function historyRowsOf(handoverId: string): Promise<number> {
  const rows = await env.db
    .selectFrom('customer_history')
    .select('seq')
    .where('handover_id', '=', handoverId)
    .execute();
  return rows.length;
}

describe('progress {planned, moved, reverted}', () => {
  test('blocked: nothing planned yet; mid-move: all planned, some moved, consistent with the ledger; completed: moved = planned', async () => {
    const t = await seedTeam(env);
    await seedLeaver(t);
    const { id, key, unblock } = await startBlocked(t);

    const blocked = await get(id);
    expect(blocked).toMatchObject({
      status: 'blocked',
      phase: 'blocked',
      blockedBy: [{ leadSourceKey: key, name: 'Portal' }],
      progress: { planned: 0, moved: 0, reverted: 0 },
    });

    // The last customer (in id order) is locked, so the move stops in its last customer batch.
    const lock = await lockLastCustomer(env, t.leaver);
    await unblock();
    const moving = await waitFor('the move to report progress', async () => {
      const h = await get(id);
      return h.phase === 'moving' && h.progress.moved > 0 ? h : undefined;
    });
    const ledger = await ledgerCounts(env.db, id);
    expect(moving.status).toBe('running');
    expect(moving.progress.planned).toBe(PLANNED);
    expect(ledger.planned).toBe(PLANNED);
    // Progress trails the ledger (it comes from the move's heartbeat), never runs ahead of it.
    expect(moving.progress.moved).toBeLessThanOrEqual(ledger.applied);
    expect(ledger.applied).toBeLessThanOrEqual(CUSTOMERS - 1); // the locked customer cannot have moved
    expect(moving.progress.reverted).toBe(0);
    await lock.release();

    const done = await waitForStatus(env.api, id, ['completed', 'compensated', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.progress).toEqual({ planned: PLANNED, moved: PLANNED, reverted: 0 });
    expect(done.summary).toMatchObject({
      customers: CUSTOMERS,
      records: OPEN_RECORDS,
      callbacks: CALLBACKS,
      conflicts: [],
    });
  });

  test('compensated (a step after the moves failed): reverted = moved = planned; every history row it wrote names its starter and itself', async () => {
    const t = await seedTeam(env);
    const book = await seedLeaver(t);
    const { id, unblock } = await startBlocked(t, t.admin.token);
    failFinish.set(id, undefined);
    await unblock();

    const done = await waitForStatus(env.api, id, ['completed', 'compensated', 'failed']);
    expect(done.status).toBe('compensated');
    expect(done.progress).toEqual({ planned: PLANNED, moved: PLANNED, reverted: PLANNED });
    expect(await loads(env, [t.leaver, t.successor])).toEqual({ [t.leaver]: CUSTOMERS, [t.successor]: 1 });
    expect(await agentStatus(env, t.leaver)).toBe('active');

    // Each customer: the move and its revert, newest first, both by the office admin who started it.
    const history = await historyOf(book, id);
    expect(await historyRowsOf(id)).toBe(2 * CUSTOMERS);
    for (const [customer, rows] of history) {
      expect(
        rows.map(({ field, from, to, actor, handoverId }) => ({ field, from, to, actor, handoverId })),
        customer,
      ).toEqual([
        { field: 'ownerId', from: t.successor, to: t.leaver, actor: t.admin.id, handoverId: id },
        { field: 'ownerId', from: t.leaver, to: t.successor, actor: t.admin.id, handoverId: id },
      ]);
    }
  });

  test('failed (its compensation could not finish): reverted 0 of what moved, and `error` says what is left', async () => {
    const t = await seedTeam(env);
    await seedLeaver(t);
    const { id, unblock } = await startBlocked(t);
    failFinish.set(id, undefined);
    failRevert.add(id);
    await unblock();

    const done = await waitForStatus(env.api, id, ['completed', 'compensated', 'failed']);
    expect(done.status).toBe('failed');
    expect(done.phase).toBe('done');
    expect(done.progress).toEqual({ planned: PLANNED, moved: PLANNED, reverted: 0 });
    expect(done.error).toContain('compensation could not finish');
    expect(done.error).toContain('injected: the revert cannot run');
    expect(done.error).toContain(
      `left moved, not reverted: ${CUSTOMERS} customers, ${OPEN_RECORDS} records and ${CALLBACKS} callbacks`,
    );
    // What is left is where the moves put it: with the successor (the agent got its status back).
    expect(done.summary).toMatchObject({ customers: CUSTOMERS, records: OPEN_RECORDS, callbacks: CALLBACKS });
    expect(await loads(env, [t.leaver, t.successor])).toEqual({ [t.leaver]: 0, [t.successor]: CUSTOMERS + 1 });
    expect(await agentStatus(env, t.leaver)).toBe('active');
  });
});

describe('the actor and the handover on every customer history row a handover writes (invariant 8)', () => {
  test('offboard started by an office admin: each moved customer has one ownerId row naming that admin and the handover', async () => {
    const t = await seedTeam(env);
    const book = await seedLeaver(t);
    const started = expectStatus(
      await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor }), t.admin.token),
      202,
    );
    expect((await waitForStatus(env.api, started.id, ['completed', 'compensated', 'failed'])).status).toBe('completed');

    const history = await historyOf(book, started.id);
    expect(await historyRowsOf(started.id)).toBe(CUSTOMERS);
    expect(history.size).toBe(CUSTOMERS);
    for (const [customer, rows] of history) {
      expect(rows, customer).toEqual([
        {
          at: expect.any(String),
          field: 'ownerId',
          from: t.leaver,
          to: t.successor,
          actor: t.admin.id,
          handoverId: started.id,
        },
      ]);
    }
  });

  test('transfer with move by the org admin: one officeId row each, actor org-admin; with stay by an office admin: one ownerId row each, actor that admin', async () => {
    const { db } = env;
    const newOffice = await seedOffice(db);

    const moving = await seedTeam(env);
    const movingBook = await seedLeaver(moving);
    const moved = expectStatus(
      await env.api.call('POST', '/v1/handovers', {
        kind: 'transfer',
        agentId: moving.leaver,
        toOfficeId: newOffice,
        customers: 'move',
      }),
      202,
    );
    expect((await waitForStatus(env.api, moved.id, ['completed', 'compensated', 'failed'])).status).toBe('completed');
    const moveHistory = await historyOf(movingBook, moved.id);
    expect(await historyRowsOf(moved.id)).toBe(CUSTOMERS);
    expect(moveHistory.size).toBe(CUSTOMERS);
    for (const [customer, rows] of moveHistory) {
      expect(
        rows.map(({ field, from, to, actor, handoverId }) => ({ field, from, to, actor, handoverId })),
        customer,
      ).toEqual([{ field: 'officeId', from: moving.office, to: newOffice, actor: 'org-admin', handoverId: moved.id }]);
    }

    const staying = await seedTeam(env);
    const stayingBook = await seedLeaver(staying);
    const stayed = expectStatus(
      await env.api.call(
        'POST',
        '/v1/handovers',
        {
          kind: 'transfer',
          agentId: staying.leaver,
          toOfficeId: newOffice,
          customers: 'stay',
          to: { agentId: staying.successor },
        },
        staying.admin.token,
      ),
      202,
    );
    expect((await waitForStatus(env.api, stayed.id, ['completed', 'compensated', 'failed'])).status).toBe('completed');
    const stayHistory = await historyOf(stayingBook, stayed.id);
    expect(await historyRowsOf(stayed.id)).toBe(CUSTOMERS);
    expect(stayHistory.size).toBe(CUSTOMERS);
    for (const [customer, rows] of stayHistory) {
      expect(
        rows.map(({ field, from, to, actor, handoverId }) => ({ field, from, to, actor, handoverId })),
        customer,
      ).toEqual([
        {
          field: 'ownerId',
          from: staying.leaver,
          to: staying.successor,
          actor: staying.admin.id,
          handoverId: stayed.id,
        },
      ]);
    }
  });
});

describe('offices', () => {
  test('a duplicate externalId is 409 problem+json and creates nothing', async () => {
    const externalId = `office-ext-${Date.now().toString(36)}`;
    const first = expectStatus(await env.api.call('POST', '/v1/offices', { name: 'Nagoya', externalId }), 201);
    expect(first).toEqual({ id: expect.any(String), name: 'Nagoya', externalId, createdAt: expect.any(String) });
    // The handovers of the tests before may still be sending their last mail (a CI run saw the outbox change).
    await untilWorkflowsEnd(env);
    const before = await snapshotDatabase(env.db);
    const problem = expectStatus(await env.api.call('POST', '/v1/offices', { name: 'Nagoya 2', externalId }), 409);
    expect(problem).toMatchObject({ status: 409, title: 'Conflict' });
    expect(await snapshotDatabase(env.db)).toBe(before);
    const { items } = await listAll(env.api, '/v1/offices');
    expect(items.filter((o: { externalId: string | null }) => o.externalId === externalId)).toEqual([first]);
  });

  test('GET /v1/offices: {items, nextCursor}, paged by limit and cursor, every office once', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      created.push(expectStatus(await env.api.call('POST', '/v1/offices', { name: `Paged ${i}` }), 201).id);
    }
    const all = await env.db.selectFrom('offices').select('id').execute();
    const total = all.length;
    expect(total).toBeGreaterThanOrEqual(created.length);

    // Default limit (100) holds them all here: one page, no cursor.
    const whole = expectStatus(await env.api.call('GET', '/v1/offices'), 200);
    expect(Object.keys(whole).sort()).toEqual(['items', 'nextCursor']);
    expect(whole.items).toHaveLength(total);
    expect(whole.nextCursor).toBeNull();
    for (const office of whole.items) {
      expect(Object.keys(office).sort()).toEqual(['createdAt', 'externalId', 'id', 'name']);
    }

    // Two at a time: ceil(total / 2) pages, each full but the last, the last without a cursor.
    const pages: Array<{ items: Array<{ id: string }>; nextCursor: string | null }> = [];
    let cursor: string | null = null;
    do {
      const url: string = cursor ? `/v1/offices?limit=2&cursor=${cursor}` : '/v1/offices?limit=2';
      const body: (typeof pages)[number] = expectStatus(await env.api.call('GET', url), 200);
      pages.push(body);
      cursor = body.nextCursor;
    } while (cursor !== null && pages.length <= total);
    expect(pages).toHaveLength(Math.ceil(total / 2));
    expect(pages.slice(0, -1).map((p) => p.items.length)).toEqual(Array(pages.length - 1).fill(2));
    expect(pages.at(-1)!.items.length).toBe(total - 2 * (pages.length - 1));
    const ids = pages.flatMap((p) => p.items.map((o) => o.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(all.map((o) => o.id).sort());
    expect(ids).toEqual(expect.arrayContaining(created));

    expectStatus(await env.api.call('GET', '/v1/offices?limit=0'), 400);
    expectStatus(await env.api.call('GET', '/v1/offices?limit=1001'), 400);
    expectStatus(await env.api.call('GET', '/v1/offices?cursor=not-one-we-gave'), 400);
  });
});
