/**
 * The move ledger engine on real PostgreSQL, without Temporal: batches as seq ranges, lanes side by
 * side, compare-and-set both ways, customer history, and the successor check at move time.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type Batch,
  type BatchResult,
  CONFLICT_AFTER_MOVE,
  CONFLICT_BEFORE_MOVE,
  type Direction,
  firstRange,
  type Group,
  type Lane,
  ledgerGroups,
  ledgerLeft,
  runBatch,
  type SeqRange,
} from '../../src/activities/ledger';
import type { Db } from '../../src/db/connect';
import { planHandover } from '../../src/kinds';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { expectEach } from '../helpers/expect-each';
import { seedAgent, seedBook, seedOffice } from '../helpers/handover-env';

let database: TestDatabase;
let db: Db;
beforeAll(async () => {
  database = await createTestDatabase('ledger');
  db = database.db;
});
afterAll(() => database?.drop());

/**
 * A leaver with `customers` customers (2 records each, one open) planned to two successors, plus a
 * second field per customer (its office), so one entity has two ledger rows.
 */
async function plannedHandover(customers: number) {
  const office = await seedOffice(db);
  const otherOffice = await seedOffice(db);
  const leaver = await seedAgent(db, office);
  const successors = [await seedAgent(db, office), await seedAgent(db, office)];
  await seedBook(db, office, leaver, customers, 2);
  const id = `ledger-${randomUUID()}`;
  const request = { kind: 'offboard', agentId: leaver, to: { pool: successors, strategy: 'round-robin' } } as const;
  await db
    .insertInto('handovers')
    .values({
      id,
      kind: 'offboard',
      agent_id: leaver,
      office_id: office,
      request: JSON.stringify(request),
      request_hash: 'test',
      started_by: 'ledger-test',
      status: 'running',
      phase: 'moving', // moves are applied only in this phase
    })
    .execute();
  await planHandover(db, id, request);
  await sql`insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
    select ${id}, 'customer', id, 'office_id', office_id, ${otherOffice} from customers where owner_id = ${leaver}
    order by id`.execute(db);
  return { id, leaver, successors, office, otherOffice };
}

/** One lane through one group, range after range, as the move activity runs it; returns the ranges. */
async function runLane(handoverId: string, group: Group, direction: Direction, span: number, lane: Lane) {
  const walked: SeqRange[] = [];
  let changed = 0;
  let range: SeqRange | undefined = firstRange(group, direction, span);
  while (range) {
    walked.push(range);
    const batch: Batch = { handoverId, group, direction, range, span, lane, actor: 'ledger-test' };
    const done: BatchResult = await db.transaction().execute((trx) => runBatch(trx, batch));
    changed += done.changed;
    range = done.next;
  }
  return { walked, changed };
}

/** What the move activity does: group by group, lanes side by side. */
async function runAll(handoverId: string, direction: Direction, lanes: number, size: number): Promise<number> {
  let changed = 0;
  for (const group of await ledgerGroups(db, handoverId, direction)) {
    const runs = Array.from({ length: lanes }, (_, index) =>
      runLane(handoverId, group, direction, size * lanes, { index, of: lanes }),
    );
    for (const run of await Promise.all(runs)) changed += run.changed;
  }
  return changed;
}

async function customersOf(leaver: string, handoverId: string) {
  const { rows } = await sql<{ owner_id: string | null; office_id: string; open_with_leaver: number; history: number }>`
    select c.owner_id, c.office_id,
      (select count(*)::int from customer_records r where r.customer_id = c.id and r.assignee_id = ${leaver}
         and r.status = 'open') as open_with_leaver,
      (select count(*)::int from customer_history h where h.customer_id = c.id and h.handover_id = ${handoverId}) as history
    from customers c join handover_moves m on m.entity_id = c.id and m.entity = 'customer' and m.field = 'owner_id'
    where m.handover_id = ${handoverId}`.execute(db);
  return rows;
}

describe.each([1, 2, 3])('%i lane(s), batches of 7', (lanes) => {
  test('apply moves every planned entity once, with history; revert puts every one back', async () => {
    const h = await plannedHandover(40);
    // 40 owners + 40 offices + 40 open records following their customer.
    expect(await runAll(h.id, 'apply', lanes, 7)).toBe(120);
    expect(await ledgerLeft(db, h.id, 'apply')).toBe(0);
    const moved = await customersOf(h.leaver, h.id);
    expect(moved).toHaveLength(40);
    for (const c of moved) {
      expect(h.successors).toContain(c.owner_id);
      expect(c.office_id).toBe(h.otherOffice);
      expect(c.open_with_leaver).toBe(0);
      expect(c.history).toBe(2); // owner and office
    }
    // Round-robin by rank: an even split.
    const perSuccessor = h.successors.map((s) => moved.filter((c) => c.owner_id === s).length);
    expect(perSuccessor).toEqual([20, 20]);
    // Done records keep their assignee.
    const { rows: done } = await sql<{ n: number }>`select count(*)::int as n from customer_records
      where assignee_id = ${h.leaver} and status = 'done'`.execute(db);
    expect(done[0]!.n).toBe(40);

    expect(await runAll(h.id, 'revert', lanes, 7)).toBe(120);
    expect(await ledgerLeft(db, h.id, 'revert')).toBe(0);
    for (const c of await customersOf(h.leaver, h.id)) {
      expect(c.owner_id).toBe(h.leaver);
      expect(c.office_id).toBe(h.office);
      expect(c.open_with_leaver).toBe(1);
      expect(c.history).toBe(4);
    }
    const { rows: stamps } = await sql<{ applied: number; reverted: number; conflicts: number }>`
      select count(applied_at)::int as applied, count(reverted_at)::int as reverted, count(conflict)::int as conflicts
      from handover_moves where handover_id = ${h.id}`.execute(db);
    expect(stamps[0]).toEqual({ applied: 120, reverted: 120, conflicts: 0 });
  });
});

test('compare-and-set: a change before the move is left and reported; one after it is kept by the revert', async () => {
  const h = await plannedHandover(10);
  const colleague = await seedAgent(db, h.office);
  const [before, after] = (
    await db.selectFrom('customers').select('id').where('owner_id', '=', h.leaver).orderBy('id').limit(2).execute()
  ).map((c) => c.id);
  await db.updateTable('customers').set({ owner_id: colleague }).where('id', '=', before!).execute();
  await runAll(h.id, 'apply', 2, 3);
  await db.updateTable('customers').set({ owner_id: colleague }).where('id', '=', after!).execute();
  await runAll(h.id, 'revert', 2, 3);

  const conflicts = await db
    .selectFrom('handover_moves')
    .select(['entity_id', 'conflict', 'applied_at', 'reverted_at'])
    .where('handover_id', '=', h.id)
    .where('field', '=', 'owner_id')
    .where('conflict', 'is not', null)
    .execute();
  expect(conflicts.map((c) => [c.entity_id, c.conflict]).sort()).toEqual(
    [
      [before, CONFLICT_BEFORE_MOVE],
      [after, CONFLICT_AFTER_MOVE],
    ].sort(),
  );
  expect(conflicts.find((c) => c.entity_id === before)?.applied_at).toBeNull();
  expect(conflicts.find((c) => c.entity_id === after)?.reverted_at).toBeNull();
  const owners = await db
    .selectFrom('customers')
    .select(['id', 'owner_id'])
    .where('id', 'in', [before!, after!])
    .execute();
  expectEach(owners, 2, { owner_id: colleague });
});

test('a successor that started leaving fails the batch before anything is touched', async () => {
  const h = await plannedHandover(5);
  await db.updateTable('agents').set({ status: 'leaving' }).where('id', '=', h.successors[1]!).execute();
  const [owners] = await ledgerGroups(db, h.id, 'apply');
  await expect(runLane(h.id, owners!, 'apply', 100, { index: 0, of: 1 })).rejects.toThrow(
    /is leaving: nothing more can be assigned/,
  );
  expect(await ledgerLeft(db, h.id, 'apply')).toBe(15);
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from customers where owner_id = ${h.leaver}`.execute(db);
  expect(rows[0]!.n).toBe(5);
});

test('a group whose seqs lie far apart (other handovers planned between) goes from row to row, not range by range', async () => {
  const h = await plannedHandover(6);
  // A million seqs go to other handovers; then a customer given to the leaver meanwhile is swept up.
  await sql`select setval(pg_get_serial_sequence('handover_moves', 'seq'),
    nextval(pg_get_serial_sequence('handover_moves', 'seq')) + 1000000)`.execute(db);
  const stray = await seedAgent(db, h.office);
  await seedBook(db, h.office, stray, 1, 0);
  await db.updateTable('customers').set({ owner_id: h.leaver }).where('owner_id', '=', stray).execute();
  const request = { kind: 'offboard', agentId: h.leaver, to: { pool: h.successors, strategy: 'round-robin' } } as const;
  expect(await planHandover(db, h.id, request)).toBe(1);

  const [owners] = await ledgerGroups(db, h.id, 'apply');
  expect(owners!.last - owners!.first).toBeGreaterThan(1000000);
  const { walked, changed } = await runLane(h.id, owners!, 'apply', 4, { index: 0, of: 1 });
  expect(changed).toBe(7);
  expect(walked).toHaveLength(3); // 4 rows, 2 rows, then straight to the swept one
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from handover_moves
    where handover_id = ${h.id} and entity = 'customer' and field = 'owner_id' and applied_at is null`.execute(db);
  expect(rows[0]!.n).toBe(0);
});
