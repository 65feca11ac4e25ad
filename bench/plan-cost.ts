/**
 * `npm run bench -- --plan-cost M`: does planning cost follow the book, not the organisation?
 * Seeds an organisation of M customers (3 records each) in 100,000-customer books, then a
 * 1,000-customer and a 100-customer book beside them, and times the real plan of an offboard of
 * each (`planHandover`, in a transaction rolled back afterwards), median of 5 runs.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../src/db/connect';
import type { HandoverRequest } from '../src/domain/handover';
import { planHandover } from '../src/kinds';
import { seedLeaver, seedOffice } from './seed';

const BOOK = 100_000;

export async function seedOrganisation(db: Db, customers: number, log: (line: string) => void) {
  const office = await seedOffice(db, 'org');
  for (let seeded = 0; seeded < customers; seeded += BOOK) {
    await seedLeaver(db, office.officeId, `org${seeded / BOOK}`, Math.min(BOOK, customers - seeded), 3, 0, false);
    log(`organisation: ${Math.min(customers, seeded + BOOK)}/${customers} customers`);
  }
  const thousand = await seedLeaver(db, office.officeId, 'thousand', 1000, 3, 50, false);
  const hundred = await seedLeaver(db, office.officeId, 'hundred', 100, 3, 5, false);
  await sql`vacuum analyze`.execute(db);
  return { officeId: office.officeId, pool: office.pool, thousand, hundred };
}

/** Milliseconds of the real plan of an offboard of `agentId` to `pool`, median of `runs`. */
export async function timePlan(db: Db, officeId: string, agentId: string, pool: string[], runs = 5) {
  const times: number[] = [];
  let planned = 0;
  for (let i = 0; i < runs; i++) {
    const request: HandoverRequest = { kind: 'offboard', agentId, to: { pool, strategy: 'round-robin' } };
    const rollback = new Error('rollback');
    await db
      .transaction()
      .execute(async (trx) => {
        const id = `plan-cost-${randomUUID()}`;
        await trx
          .insertInto('handovers')
          .values({
            id,
            kind: 'offboard',
            agent_id: agentId,
            office_id: officeId,
            request: JSON.stringify(request),
            request_hash: 'bench',
            started_by: 'bench',
            status: 'cancelled',
            phase: 'done',
          })
          .execute();
        const t = performance.now();
        planned = await planHandover(trx, id, request);
        times.push(performance.now() - t);
        throw rollback;
      })
      .catch((err) => {
        if (err !== rollback) throw err;
      });
  }
  times.sort((a, b) => a - b);
  return { ms: Math.round(times[Math.floor(times.length / 2)]! * 10) / 10, planned };
}

/** The whole `--plan-cost` run on a database of its own; returns the JSON line's fields. */
export async function planCostBench(
  database: { create(): Promise<Db>; drop(): Promise<void> },
  customers: number,
  log: (line: string) => void,
) {
  const db = await database.create();
  try {
    const seededAt = Date.now();
    const org = await seedOrganisation(db, customers, log);
    log(`seeded in ${((Date.now() - seededAt) / 1000).toFixed(1)}s`);
    const thousand = await timePlan(db, org.officeId, org.thousand, org.pool);
    const hundred = await timePlan(db, org.officeId, org.hundred, org.pool);
    return {
      organisationCustomers: customers,
      plan1000Ms: thousand.ms,
      plan1000Rows: thousand.planned,
      plan100Ms: hundred.ms,
      plan100Rows: hundred.planned,
    };
  } finally {
    await db.destroy();
    await database.drop();
  }
}
