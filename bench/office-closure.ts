/**
 * `npm run bench -- --office-closure K`: an office closes. K agents with 100 customers each (3
 * records per customer, 5 callbacks per agent) are offboarded at once through the API to the
 * office's remaining agents (a least-loaded pool). Measures how long until every one is done and
 * what each start cost, then checks the invariants on the whole office.
 */
import { sql } from 'kysely';
import type { Db } from '../src/db/connect';

export const CUSTOMERS_PER_AGENT = 100;
const SUCCESSORS = 10;

export interface Closure {
  officeId: string;
  leavers: string[];
  pool: string[];
}

/** Set-based: one statement per table for all K agents, then one VACUUM ANALYZE. */
export async function seedClosure(db: Db, agents: number, records: number): Promise<Closure> {
  const { id: officeId } = await db
    .insertInto('offices')
    .values({ name: 'closing office' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const insertAgents = async (label: string, n: number) =>
    (
      await sql<{ id: string }>`
        insert into agents (office_id, name, email, role)
        select ${officeId}, ${label} || ' ' || i, ${label} || i || '@closure.bench.test', 'agent'
        from generate_series(1, ${n}) as i order by i returning id`.execute(db)
    ).rows.map((r) => r.id);
  const pool = await insertAgents('stays', SUCCESSORS);
  const leavers = await insertAgents('leaves', agents);
  await sql`
    insert into customers (office_id, owner_id, name, kind, subscribed, trashed_at, purge_after)
    select ${officeId}, a.id, 'customer ' || i, 'buyer', i % 10 <> 0,
           case when i % 20 = 0 then now() end, case when i % 20 = 0 then now() + interval '14 days' end
    from unnest(${leavers}::text[]) as a(id) cross join generate_series(1, ${CUSTOMERS_PER_AGENT}) as i`.execute(db);
  await sql`
    insert into customer_records (customer_id, type, title, assignee_id, status)
    select c.id, 'task', 'record ' || r, c.owner_id, case when r = 1 then 'done' else 'open' end
    from customers c cross join generate_series(1, ${records}) as r
    where c.office_id = ${officeId}`.execute(db);
  await sql`
    insert into callbacks (name, phone, starts_at, ends_at, assignee_id)
    select 'caller ' || i, '+81-3-0000-0000', now() + (i || ' hours')::interval, now() + (i || ' hours')::interval + interval '30 minutes', a.id
    from unnest(${leavers}::text[]) as a(id) cross join generate_series(1, 5) as i`.execute(db);
  await sql`vacuum analyze`.execute(db);
  return { officeId, leavers, pool };
}

export type Call = (method: string, path: string, body?: unknown) => Promise<{ id: string }>;

/** Starts an offboard of each agent to a least-loaded `pool`, all at once through the API; each start's latency. */
export async function startAtOnce(call: Call, agents: string[], pool: string[]) {
  const latencies: number[] = [];
  const runs = await Promise.all(
    agents.map(async (agentId) => {
      const t = Date.now();
      const run = await call('POST', '/v1/handovers', {
        kind: 'offboard',
        agentId,
        to: { pool, strategy: 'least-loaded' },
      });
      latencies.push(Date.now() - t);
      return run;
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    ids: runs.map((run) => run.id),
    startP50Ms: latencies[Math.floor(latencies.length * 0.5)]!,
    startP99Ms: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

/** Waits on the rows (one query every 250 ms), not a GET per handover, until none is running or blocked. */
export async function untilSettled(db: Db, ids: string[], label?: string) {
  for (;;) {
    const { rows } = await sql<{ open: number }>`
      select count(*)::int as open from handovers where id = any(${ids}::text[]) and status in ('running', 'blocked')`.execute(
      db,
    );
    if (label) process.stderr.write(`\r${label}: ${ids.length - rows[0]!.open}/${ids.length} settled   `);
    if (rows[0]!.open === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (label) process.stderr.write('\n');
}

/** Starts every offboard at once through the API, waits until all have settled, checks the office. */
export async function runClosure(db: Db, closure: Closure, call: Call) {
  const started = Date.now();
  const { ids, startP50Ms, startP99Ms } = await startAtOnce(call, closure.leavers, closure.pool);
  await untilSettled(db, ids, 'closure');
  const closureSeconds = (Date.now() - started) / 1000;
  const { rows: outcome } = await sql<{ completed: number }>`
    select count(*)::int as completed from handovers where id = any(${ids}::text[]) and status = 'completed'`.execute(
    db,
  );
  return {
    ids,
    handovers: ids.length,
    completed: outcome[0]!.completed,
    closureSeconds,
    startP50Ms,
    startP99Ms,
    invariantViolations: await violations(db, closure),
  };
}

/**
 * Invariants 2, 3 and 4 over the whole office: the leavers are `offboarded` and hold nothing; every
 * customer is with one of the agents who stay; each handover's ledger matches the data it moved.
 */
async function violations(db: Db, closure: Closure): Promise<string[]> {
  const { rows } = await sql<{ what: string; n: number }>`
    select 'leaver not offboarded' as what, count(*)::int as n from agents
      where id = any(${closure.leavers}::text[]) and status <> 'offboarded'
    union all
    select 'customer not with an agent who stays', count(*)::int from customers
      where office_id = ${closure.officeId} and (owner_id is null or not owner_id = any(${closure.pool}::text[]))
    union all
    select 'open record of a leaver', count(*)::int from customer_records
      where status = 'open' and assignee_id = any(${closure.leavers}::text[])
    union all
    select 'callback of a leaver not ended', count(*)::int from callbacks
      where ends_at > now() and assignee_id = any(${closure.leavers}::text[])
    union all
    select 'ledger row not applied, or entity not holding its value', count(*)::int
      from handover_moves m join handovers h on h.id = m.handover_id
      left join customers c on m.entity = 'customer' and c.id = m.entity_id
      left join customer_records r on m.entity = 'record' and r.id = m.entity_id
      left join callbacks b on m.entity = 'callback' and b.id = m.entity_id
      where h.agent_id = any(${closure.leavers}::text[]) and m.entity <> 'agent'
        and (m.applied_at is null or coalesce(c.owner_id, r.assignee_id, b.assignee_id) is distinct from m.to_value)`.execute(
    db,
  );
  return rows.filter((r) => r.n > 0).map((r) => `${r.what}: ${r.n}`);
}
