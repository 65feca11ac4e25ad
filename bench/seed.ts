/** Bench data, seeded set-based: one SQL statement per table whatever N. */
import { sql } from 'kysely';
import type { Db } from '../src/db/connect';

export interface Book {
  officeId: string;
  leaverId: string;
  pool: string[];
}

export async function seedOffice(db: Db, label: string): Promise<{ officeId: string; pool: string[] }> {
  const { id: officeId } = await db
    .insertInto('offices')
    .values({ name: label })
    .returning('id')
    .executeTakeFirstOrThrow();
  const pool = [];
  for (let i = 1; i <= 3; i++) {
    const row = await db
      .insertInto('agents')
      .values({
        office_id: officeId,
        name: `${label} successor ${i}`,
        email: `s${i}.${label}@bench.test`,
        role: 'agent',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    pool.push(row.id);
  }
  return { officeId, pool };
}

/** An agent with `customers` customers (10% unsubscribed, 5% trashed), `records` records each (the first done), `callbacks` callbacks. */
export async function seedLeaver(
  db: Db,
  officeId: string,
  label: string,
  customers: number,
  records: number,
  callbacks: number,
  analyze = true,
): Promise<string> {
  const { id } = await db
    .insertInto('agents')
    .values({ office_id: officeId, name: `${label} leaver`, email: `leaver.${label}@bench.test`, role: 'agent' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await sql`
    insert into customers (office_id, owner_id, name, kind, subscribed, trashed_at, purge_after)
    select ${officeId}, ${id}, 'customer ' || i, 'buyer', i % 10 <> 0,
           case when i % 20 = 0 then now() end, case when i % 20 = 0 then now() + interval '14 days' end
    from generate_series(1, ${customers}) as i`.execute(db);
  if (records > 0) {
    await sql`
      insert into customer_records (customer_id, type, title, assignee_id, status)
      select c.id, 'task', 'record ' || r, ${id}, case when r = 1 then 'done' else 'open' end
      from customers c cross join generate_series(1, ${records}) as r where c.owner_id = ${id}`.execute(db);
  }
  await sql`
    insert into callbacks (name, phone, starts_at, ends_at, assignee_id)
    select 'caller ' || i, '+81-3-0000-0000', now() + (i || ' minutes')::interval, now() + (i + 30 || ' minutes')::interval, ${id}
    from generate_series(1, ${callbacks}) as i`.execute(db);
  // As a book that has been in use a while: statistics, hint bits and the visibility map are set.
  if (analyze) await sql`vacuum analyze`.execute(db);
  return id;
}
