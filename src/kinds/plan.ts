/**
 * Building blocks of a plan: each adds to the ledger, with one INSERT … SELECT, the moves of one
 * kind of entity that are not planned yet (so re-planning is a sweep). Rows go in in id order
 * (ledger `seq` order), so move batches touch neighbouring rows.
 */
import { type RawBuilder, sql, type Transaction } from 'kysely';
import type { Db } from '../db/connect';
import type { Database, MoveEntity, MoveField } from '../db/schema';
import type { Successor } from '../domain/handover';
import { customerSlots, successorByCycle, successorByRank } from './successors';

type Trx = Transaction<Database>;
export type Target = (rn: RawBuilder<unknown>) => RawBuilder<string | null>;

/**
 * Runs `plan` in one transaction; returns how many ledger rows it added. `first` tells the plan
 * that the handover's ledger is empty: nothing can be planned twice, so no step needs to look up
 * the ledger (an anti-join per row that, on statistics that do not know this handover's fresh rows
 * yet, the planner may run through the wrong index: minutes at 20,000 customers).
 */
export async function planInTransaction(
  db: Db,
  handoverId: string,
  plan: (trx: Trx, first: boolean) => Promise<Array<{ numAffectedRows?: bigint }>>,
): Promise<number> {
  // Inside a caller's transaction (a test's), that one is used.
  if (db.isTransaction) return run(db as Trx);
  return db.transaction().execute(run);
  async function run(trx: Trx) {
    // One plan at a time per handover (a retried attempt waits for a stuck one), so nothing is planned twice.
    await sql`select id from handovers where id = ${handoverId} for update`.execute(trx);
    if (await isLarge(trx, handoverId)) {
      // Ranking and ordering a whole book are sorts of hundreds of thousands of rows: in memory, not on disk.
      await sql`set local work_mem = '64MB'`.execute(trx);
    }
    const { rows } = await sql<{ first: boolean }>`
      select not exists (select 1 from handover_moves where handover_id = ${handoverId}) as first`.execute(trx);
    const results = await plan(trx, rows[0]!.first);
    return results.reduce((sum, r) => sum + Number(r.numAffectedRows ?? 0), 0);
  }
}

/** From this many customers or callbacks on, a plan sorts a book too large for the default work_mem. */
const LARGE_BOOK = 1000;

async function isLarge(trx: Trx, handoverId: string): Promise<boolean> {
  const { rows } = await sql<{ large: boolean }>`
    select (select count(*) from (select 1 from customers where owner_id = h.agent_id limit ${LARGE_BOOK}) c)
         + (select count(*) from (select 1 from callbacks where assignee_id = h.agent_id limit ${LARGE_BOOK}) b)
         + coalesce(jsonb_array_length(h.request -> 'from' -> 'customerIds'), 0) >= ${LARGE_BOOK} as large
    from handovers h where h.id = ${handoverId}`.execute(trx);
  return rows[0]?.large ?? true;
}

/**
 * Adds the moves of `entity.field` for the rows `source` yields as `(id, from_value)`; `target` picks
 * each new value by rank. A row that already holds its new value (a listed customer already owned
 * by the successor, or already without owner for `unassign`) is no move: no ledger row, no history.
 */
export function planEntities(
  db: Db,
  handoverId: string,
  entity: MoveEntity,
  field: MoveField,
  source: RawBuilder<unknown>,
  target: Target,
  first: boolean,
) {
  return sql`
    insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
    select ${handoverId}, ${entity}, id, ${field}, from_value, to_value
    from (${ranked(first ? undefined : { handoverId, entity, field }, source, target)}) as planned
    order by id`.execute(db);
}

/**
 * The rows of `source` not yet in the ledger (of `planned`, when given), ranked in id order, with
 * the new value `target` gives each rank, as `(id, from_value, to_value)`; rows that already hold
 * their new value left out. The plan inserts these; a preview that must rank counts them.
 */
export function ranked(planned: Planned | undefined, source: RawBuilder<unknown>, target: Target) {
  return sql`
    select id, from_value, to_value
    from (select id, from_value, ${target(sql`rn`)} as to_value
          from (select s.id, s.from_value, row_number() over (order by s.id) as rn
                from (${source}) as s ${notYetPlanned(planned)}) as ranked) as targeted
    where to_value is distinct from from_value`;
}

/** Which ledger a sweep checks its source against: the handover's moves of one entity and field. */
interface Planned {
  handoverId: string;
  entity: MoveEntity;
  field: MoveField;
}

/** Keeps the source rows `s` that `planned` does not hold yet; nothing to check without it (a first plan, a preview). */
const notYetPlanned = (planned: Planned | undefined) =>
  planned
    ? sql`where not exists (select 1 from handover_moves m where m.handover_id = ${planned.handoverId}
            and m.entity = ${planned.entity} and m.field = ${planned.field} and m.entity_id = s.id)`
    : sql``;

/**
 * Customers' new owners: ranges for least-loaded (an exact split of the rows not planned yet),
 * a cycle over the pool otherwise.
 */
export async function customerOwnerTarget(
  db: Db,
  handoverId: string | undefined,
  source: RawBuilder<unknown>,
  to: Successor,
): Promise<Target> {
  if (!('pool' in to && to.strategy === 'least-loaded')) return (rn) => successorByCycle(rn, to);
  const planned = handoverId ? { handoverId, entity: 'customer' as const, field: 'owner_id' as const } : undefined;
  const { count } = (
    await sql<{ count: number }>`select count(*) as count from (${source}) as s ${notYetPlanned(planned)}`.execute(db)
  ).rows[0]!;
  const slots = await customerSlots(db, to, Number(count));
  return (rn) => successorByRank(rn, slots);
}

/**
 * Open records assigned to a moved customer's old owner follow the customer to its new owner
 * (invariant 3). The first plan reads them from the customers it just planned; a sweep, once moves
 * were applied, also catches records given to the old owner of an already moved customer while the
 * move ran, read from the old owners' open records (few by then) rather than the whole book again.
 */
export async function planRecordsFollowingCustomers(db: Db, handoverId: string, first: boolean) {
  const planned = await sql`
    insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
    select ${handoverId}, 'record', r.id, 'assignee_id', r.assignee_id, m.to_value
    from handover_moves m
    join customer_records r on r.customer_id = m.entity_id and r.assignee_id = m.from_value and r.status = 'open'
    where m.handover_id = ${handoverId} and m.entity = 'customer' and m.field = 'owner_id'
      and m.applied_at is null and m.conflict is null
      ${first ? sql`` : sql`and not exists (${plannedRecord(handoverId)})`}
    order by m.seq, r.id`.execute(db);
  // Nothing was applied before a first plan: there is nothing to sweep up.
  if (first) return planned;
  const sweptUp = await sql`
    insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
    select ${handoverId}, 'record', r.id, 'assignee_id', r.assignee_id, m.to_value
    from customer_records r
    join handover_moves m on m.handover_id = ${handoverId} and m.entity = 'customer' and m.field = 'owner_id'
      and m.entity_id = r.customer_id and m.from_value = r.assignee_id
    where r.status = 'open' and m.applied_at is not null and m.conflict is null
      and r.assignee_id in (select distinct from_value from handover_moves where handover_id = ${handoverId}
        and entity = 'customer' and field = 'owner_id' and applied_at is not null)
      and not exists (${plannedRecord(handoverId)})
    order by r.id`.execute(db);
  return { numAffectedRows: (planned.numAffectedRows ?? 0n) + (sweptUp.numAffectedRows ?? 0n) };
}

const plannedRecord = (handoverId: string) => sql`select 1 from handover_moves p where p.handover_id = ${handoverId}
  and p.entity = 'record' and p.field = 'assignee_id' and p.entity_id = r.id`;

export const cycleOver =
  (to: Successor): Target =>
  (rn) =>
    successorByCycle(rn, to);

export const constant =
  (value: string): Target =>
  () =>
    sql`${value}::text`;

export const sources = {
  customersOwnedBy: (agentId: string) =>
    sql`select id, owner_id as from_value, subscribed, trashed_at from customers where owner_id = ${agentId}`,
  customersOfOwnerForOffice: (agentId: string) =>
    sql`select id, office_id as from_value, subscribed, trashed_at from customers where owner_id = ${agentId}`,
  /** The customers a `reassign-customers` request lists (the activity reads the list from the row, never from the workflow). */
  customersListed: (customerIds: string[]) =>
    sql`select id, owner_id as from_value, subscribed, trashed_at from customers where id = any(${customerIds}::text[])`,
  /**
   * The agent's open records on customers it does not own. Those on its own customers follow them
   * (`planRecordsFollowingCustomers`, planned just before): not reading them twice saves the plan
   * an anti-join of the whole book against the ledger.
   */
  otherOpenRecordsOf: (agentId: string) =>
    sql`select r.id, r.assignee_id as from_value from customer_records r join customers c on c.id = r.customer_id
        where r.assignee_id = ${agentId} and r.status = 'open' and c.owner_id is distinct from ${agentId}`,
  /** Open records of others on the agent's customers: with `move` they come along to the agent. */
  othersOpenRecordsOn: (agentId: string) =>
    sql`select r.id, r.assignee_id as from_value from customer_records r join customers c on c.id = r.customer_id
        where c.owner_id = ${agentId} and r.status = 'open' and r.assignee_id <> ${agentId}`,
  /** Callbacks of others, not ended, on the agent's customers: with `move` they come along to the agent. */
  othersCallbacksOn: (agentId: string) =>
    sql`select b.id, b.assignee_id as from_value from callbacks b join customers c on c.id = b.customer_id
        where c.owner_id = ${agentId} and b.assignee_id <> ${agentId} and b.ends_at > now()`,
  /** The agent's callbacks, not ended, on customers it does not own or on no customer. */
  otherCallbacksOf: (agentId: string) =>
    sql`select b.id, b.assignee_id as from_value from callbacks b left join customers c on c.id = b.customer_id
        where b.assignee_id = ${agentId} and b.ends_at > now() and c.owner_id is distinct from ${agentId}`,
  callbacksOf: (agentId: string, window?: { from: string; to: string }) =>
    window
      ? sql`select id, assignee_id as from_value from callbacks where assignee_id = ${agentId}
              and ends_at > now() and starts_at < ${window.to}::timestamptz and ends_at > ${window.from}::timestamptz`
      : sql`select id, assignee_id as from_value from callbacks where assignee_id = ${agentId} and ends_at > now()`,
  agent: (agentId: string) => sql`select id, office_id as from_value from agents where id = ${agentId}`,
};
