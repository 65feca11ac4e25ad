/**
 * Preview counts what moves with aggregates and writes nothing; the plan writes the same steps into
 * the ledger. For random books and every kind, the preview's counts equal the ledger the real plan
 * writes (planned in a transaction that is rolled back). Real PostgreSQL, no Temporal needed.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../../src/db/connect';
import type { HandoverRequest, Successor } from '../../src/domain/handover';
import { countHandover, kindOf, planHandover } from '../../src/kinds';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('preview_counts');
});
afterAll(() => database?.drop());

const MIN = 60_000;

/** A book drawn at random: who owns which customer, who holds which record and callback. */
const bookArb = fc.record({
  agents: fc.array(fc.constantFrom('active', 'active', 'absent'), { minLength: 3, maxLength: 5 }),
  customers: fc.array(
    fc.record({
      owner: fc.option(fc.nat(4), { nil: null }),
      subscribed: fc.boolean(),
      trashed: fc.boolean(),
      records: fc.array(fc.record({ assignee: fc.option(fc.nat(4), { nil: null }), open: fc.boolean() }), {
        maxLength: 3,
      }),
    }),
    { maxLength: 25 },
  ),
  callbacks: fc.array(
    fc.record({
      assignee: fc.nat(4),
      customer: fc.option(fc.nat(24), { nil: null }),
      startsInMinutes: fc.integer({ min: -180, max: 240 }),
    }),
    { maxLength: 10 },
  ),
});

const successorArb = fc.oneof(
  fc.record({ agentId: fc.nat(4) }),
  fc.record({
    pool: fc.uniqueArray(fc.nat(4), { minLength: 1, maxLength: 4 }),
    strategy: fc.constantFrom('round-robin', 'least-loaded'),
  }),
  fc.constant({ unassign: true as const }),
);

/** A request of any kind, naming agents by index (0 is the agent handing over). */
const requestArb = fc.oneof(
  fc.record({ kind: fc.constant('offboard'), to: successorArb }),
  fc.record({
    kind: fc.constant('transfer'),
    customers: fc.constantFrom('move', 'stay'),
    to: fc.option(successorArb, { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('reassign-customers'), fromList: fc.boolean(), to: successorArb }),
  fc.record({
    kind: fc.constant('reassign-callbacks'),
    to: successorArb,
    window: fc.option(fc.tuple(fc.integer({ min: -60, max: 120 }), fc.integer({ min: 1, max: 180 })), {
      nil: undefined,
    }),
  }),
);

type Book = typeof bookArb extends fc.Arbitrary<infer T> ? T : never;
type Drawn = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

async function seed(db: Db, book: Book) {
  const [office, newOffice] = await Promise.all(
    [0, 1].map(async () => {
      const row = await db
        .insertInto('offices')
        .values({ name: `office ${randomUUID()}` })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    }),
  );
  const agents: string[] = [];
  for (const [i, status] of book.agents.entries()) {
    const row = await db
      .insertInto('agents')
      .values({
        office_id: office!,
        name: `agent ${i}`,
        email: `${randomUUID()}@example.test`,
        role: 'agent',
        status: i === 0 ? 'active' : status,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    agents.push(row.id);
  }
  const agent = (i: number | null) => (i === null ? null : agents[i % agents.length]!);
  const customers: string[] = [];
  for (const [i, c] of book.customers.entries()) {
    const row = await db
      .insertInto('customers')
      .values({
        office_id: office!,
        owner_id: agent(c.owner),
        name: `customer ${i}`,
        kind: 'buyer',
        subscribed: c.subscribed,
        trashed_at: c.trashed ? new Date() : null,
        purge_after: c.trashed ? new Date(Date.now() + 14 * 86_400_000) : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    customers.push(row.id);
    for (const r of c.records) {
      await db
        .insertInto('customer_records')
        .values({
          customer_id: row.id,
          type: 'task',
          title: 'task',
          assignee_id: agent(r.assignee),
          status: r.open ? 'open' : 'done',
        })
        .execute();
    }
  }
  for (const [i, b] of book.callbacks.entries()) {
    const starts = new Date(Date.now() + b.startsInMinutes * MIN);
    await db
      .insertInto('callbacks')
      .values({
        customer_id: b.customer === null || customers.length === 0 ? null : customers[b.customer % customers.length]!,
        name: `caller ${i}`,
        phone: '+81-3-0000-0000',
        starts_at: starts,
        ends_at: new Date(starts.getTime() + 30 * MIN),
        assignee_id: agent(b.assignee)!,
      })
      .execute();
  }
  return { office: office!, newOffice: newOffice!, agents, customers };
}

function requestOf(drawn: Drawn, s: Awaited<ReturnType<typeof seed>>): HandoverRequest {
  const id = (i: number) => s.agents[i % s.agents.length]!;
  const to = (t: Drawn['to']): Successor =>
    t === undefined || 'unassign' in t
      ? { unassign: true }
      : 'agentId' in t
        ? { agentId: id(t.agentId) }
        : { pool: t.pool.map(id), strategy: t.strategy };
  const agentId = s.agents[0]!;
  switch (drawn.kind) {
    case 'offboard':
      return { kind: 'offboard', agentId, to: to(drawn.to) };
    case 'transfer':
      return {
        kind: 'transfer',
        agentId,
        toOfficeId: s.newOffice,
        customers: drawn.customers,
        ...(drawn.to ? { to: to(drawn.to) } : {}),
      };
    case 'reassign-customers':
      return {
        kind: 'reassign-customers',
        // The list: every other customer of the book, whoever owns it (some may be the successors' already).
        from:
          drawn.fromList && s.customers.length > 0
            ? { customerIds: s.customers.filter((_, i) => i % 2 === 0) }
            : { agentId },
        to: to(drawn.to),
      };
    case 'reassign-callbacks': {
      const window = drawn.window && {
        from: new Date(Date.now() + drawn.window[0] * MIN).toISOString(),
        to: new Date(Date.now() + (drawn.window[0] + drawn.window[1]) * MIN).toISOString(),
      };
      return { kind: 'reassign-callbacks', fromAgentId: agentId, to: to(drawn.to), ...(window ? { window } : {}) };
    }
  }
}

/** What the real plan writes into the ledger, in the preview's terms; rolled back afterwards. */
async function planned(db: Db, request: HandoverRequest, officeId: string, agentId: string | undefined) {
  const rollback = new Error('rollback');
  let counted: unknown;
  await db
    .transaction()
    .execute(async (trx) => {
      const id = `property-${randomUUID()}`;
      await trx
        .insertInto('handovers')
        .values({
          id,
          kind: request.kind,
          agent_id: agentId ?? null,
          office_id: officeId,
          request: JSON.stringify(request),
          request_hash: 'property',
          started_by: 'property-test',
          status: 'cancelled',
          phase: 'done',
        })
        .execute();
      await planHandover(trx, id, request);
      const { rows } = await sql<Record<string, number>>`
        select count(distinct m.entity_id) filter (where m.entity = 'customer') as customers,
               count(distinct m.entity_id) filter (where m.entity = 'customer' and not c.subscribed) as unsubscribed,
               count(distinct m.entity_id) filter (where m.entity = 'customer' and c.trashed_at is not null) as trashed,
               count(*) filter (where m.entity = 'record') as records,
               count(*) filter (where m.entity = 'callback') as callbacks
        from handover_moves m left join customers c on m.entity = 'customer' and c.id = m.entity_id
        where m.handover_id = ${id}`.execute(trx);
      const split = await trx
        .selectFrom('handover_moves')
        .select(['to_value', (eb) => eb.fn.countAll<number>().as('n')])
        .where('handover_id', '=', id)
        .where('entity', '=', 'customer')
        .where('field', '=', 'owner_id')
        .where('to_value', 'is not', null)
        .groupBy('to_value')
        .execute();
      counted = {
        ...Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)])),
        bySuccessor: Object.fromEntries(split.map((r) => [r.to_value!, Number(r.n)])),
      };
      throw rollback;
    })
    .catch((err) => {
      if (err !== rollback) throw err;
    });
  return counted;
}

/** One case: seed, validate as the API does (a refused request proves nothing here), compare. */
async function previewMatchesPlan(book: Book, drawn: Drawn): Promise<boolean> {
  const { db } = database;
  const s = await seed(db, book);
  const request = requestOf(drawn, s);
  const scope = await kindOf(request.kind)
    .validate(db, request)
    .catch(() => undefined);
  if (!scope) return false;
  const moves = await kindOf(request.kind)
    .moves(db, request, scope.officeId)
    .then(() => true)
    .catch(() => false); // refused while planning (nobody left to take over): the plan refuses too
  if (!moves) return false;
  const before = await tableSizes(db);
  const preview = await countHandover(db, request, scope.officeId);
  expect(await tableSizes(db), 'a preview writes nothing').toEqual(before);
  expect(preview).toEqual(await planned(db, request, scope.officeId, scope.agent?.id));
  return true;
}

async function tableSizes(db: Db) {
  const { rows } = await sql<{ moves: number; handovers: number }>`
    select (select count(*) from handover_moves)::int as moves, (select count(*) from handovers)::int as handovers`.execute(
    db,
  );
  return rows[0];
}

test('preview counts equal the plan, for random books and every kind', async () => {
  let compared = 0;
  await fc.assert(
    fc.asyncProperty(bookArb, requestArb, async (book, drawn) => {
      if (await previewMatchesPlan(book, drawn)) compared++;
    }),
    {
      numRuns: Number(process.env.PREVIEW_RUNS ?? 300),
      // Counterexamples found so far, kept beside the random runs.
      examples: [
        // A listed customer with no owner is a move to the successor (SQL: NULL = any(...) is not false).
        [
          {
            agents: ['active', 'active', 'active'],
            customers: [{ owner: null, subscribed: false, trashed: false, records: [] }],
            callbacks: [],
          },
          { kind: 'reassign-customers', fromList: true, to: { agentId: 0 } },
        ],
      ],
    },
  );
  // Most draws are valid requests: the property must not pass by refusing everything.
  expect(compared).toBeGreaterThan(50);
});

test('fixed cases: listed customers some of which the pool already owns; a least-loaded pool; a window', async () => {
  const book: Book = {
    agents: ['active', 'active', 'active', 'active'],
    customers: Array.from({ length: 12 }, (_, i) => ({
      owner: i % 4,
      subscribed: i % 3 !== 0,
      trashed: i % 5 === 0,
      records: [
        { assignee: i % 4, open: true },
        { assignee: 0, open: i % 2 === 0 },
      ],
    })),
    callbacks: Array.from({ length: 6 }, (_, i) => ({ assignee: 0, customer: i, startsInMinutes: i * 40 - 60 })),
  };
  const cases: Drawn[] = [
    { kind: 'reassign-customers', fromList: true, to: { pool: [1, 2], strategy: 'round-robin' } },
    { kind: 'reassign-customers', fromList: true, to: { pool: [1, 2, 3], strategy: 'least-loaded' } },
    { kind: 'reassign-customers', fromList: true, to: { agentId: 2 } },
    { kind: 'offboard', to: { pool: [1, 2, 3], strategy: 'least-loaded' } },
    { kind: 'transfer', customers: 'move', to: undefined },
    { kind: 'transfer', customers: 'stay', to: { pool: [3, 1], strategy: 'round-robin' } },
    { kind: 'reassign-callbacks', to: { agentId: 3 }, window: [0, 90] },
  ];
  for (const drawn of cases) expect(await previewMatchesPlan(book, drawn), drawn.kind).toBe(true);
});
