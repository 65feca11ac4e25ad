/**
 * The integrity sweep: what the invariants forbid but is found anyway (API.md, "Operations").
 * Read-only; used by `GET /v1/integrity` and by the daily digest to each office's admins.
 */
import { type RawBuilder, sql } from 'kysely';
import type { Db } from './connect';

export type IntegrityKind =
  /** A customer owned by an `offboarded` agent. */
  | 'owner-offboarded'
  /** An open record, or a callback that has not ended, assigned to an `offboarded` agent. */
  | 'assignee-offboarded'
  /** A lead source whose default assignee is not `active`. */
  | 'default-assignee-inactive'
  /** An agent `leaving` with no running (or blocked) handover. */
  | 'leaving-without-handover'
  /** An open record, or a callback that has not ended, assigned to an agent of another office than its customer's. */
  | 'assigned-across-offices'
  /** A handover recorded as running whose workflow is closed or missing (src/temporal/stuck-handovers.ts). */
  | 'handover-not-running';

export interface IntegrityIssue {
  kind: IntegrityKind;
  entity: 'customer' | 'record' | 'callback' | 'lead-source' | 'agent' | 'handover';
  id: string;
  detail: string;
  /** The office the finding belongs to (whose admins are told). */
  officeId: string;
}

export interface IntegrityOptions {
  /** Only this office's findings (an office admin's view). */
  officeId?: string;
  /** At most this many findings of each entity (default 1000): enough to act on, never a huge answer. */
  limitPerEntity?: number;
}

/** Every finding, ordered by entity then id. A few set-based queries, whatever the data's size. */
export async function findIntegrityIssues(db: Db, options: IntegrityOptions = {}): Promise<IntegrityIssue[]> {
  const limit = options.limitPerEntity ?? 1000;
  const office = options.officeId ?? null;
  const run = async (query: RawBuilder<IntegrityIssue>) => (await query.execute(db)).rows;

  const customers = await run(sql<IntegrityIssue>`
    select 'owner-offboarded' as kind, 'customer' as entity, c.id, c.office_id as "officeId",
           'customer ' || c.name || ' is owned by offboarded agent ' || a.name || ' (' || a.id || ')' as detail
      from customers c join agents a on a.id = c.owner_id
     where a.status = 'offboarded' and (${office}::text is null or c.office_id = ${office})
     order by c.id limit ${limit}`);

  const records = await run(sql<IntegrityIssue>`
    select 'assignee-offboarded' as kind, 'record' as entity, r.id, c.office_id as "officeId",
           'open ' || r.type || ' "' || r.title || '" of customer ' || c.id || ' is assigned to offboarded agent '
             || a.name || ' (' || a.id || ')' as detail
      from customer_records r join agents a on a.id = r.assignee_id join customers c on c.id = r.customer_id
     where r.status = 'open' and a.status = 'offboarded' and (${office}::text is null or c.office_id = ${office})
     order by r.id limit ${limit}`);

  // A callback has no office of its own: its customer's, else its assignee's.
  const callbacks = await run(sql<IntegrityIssue>`
    select 'assignee-offboarded' as kind, 'callback' as entity, b.id, coalesce(c.office_id, a.office_id) as "officeId",
           'callback to ' || b.name || ' (ends ' || to_char(b.ends_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')
             || ') is assigned to offboarded agent ' || a.name || ' (' || a.id || ')' as detail
      from callbacks b join agents a on a.id = b.assignee_id left join customers c on c.id = b.customer_id
     where b.ends_at > now() and a.status = 'offboarded'
       and (${office}::text is null or coalesce(c.office_id, a.office_id) = ${office})
     order by b.id limit ${limit}`);

  const leadSources = await run(sql<IntegrityIssue>`
    select 'default-assignee-inactive' as kind, 'lead-source' as entity, s.key as id, s.office_id as "officeId",
           'lead source ' || s.name || ' (' || s.key || ') routes new leads to ' || a.name || ' (' || a.id
             || '), who is ' || a.status as detail
      from lead_sources s join agents a on a.id = s.default_assignee_id
     where a.status <> 'active' and (${office}::text is null or s.office_id = ${office})
     order by s.key limit ${limit}`);

  const agents = await run(sql<IntegrityIssue>`
    select 'leaving-without-handover' as kind, 'agent' as entity, a.id, a.office_id as "officeId",
           'agent ' || a.name || ' (' || a.id || ') is leaving but no handover of it is running' as detail
      from agents a
     where a.status = 'leaving' and (${office}::text is null or a.office_id = ${office})
       and not exists (select 1 from handovers h where h.agent_id = a.id and h.status in ('running', 'blocked'))
     order by a.id limit ${limit}`);

  // Invariant 9: the customer's office decides; a callback without customer has no office of its own.
  const acrossOffices = await run(sql<IntegrityIssue>`
    select * from (
      select 'assigned-across-offices' as kind, 'record' as entity, r.id, c.office_id as "officeId",
             'open ' || r.type || ' "' || r.title || '" of customer ' || c.id || ' (office ' || c.office_id
               || ') is assigned to ' || a.name || ' (' || a.id || ') of office ' || a.office_id as detail
        from customer_records r join customers c on c.id = r.customer_id join agents a on a.id = r.assignee_id
       where r.status = 'open' and a.office_id <> c.office_id and (${office}::text is null or c.office_id = ${office})
       order by r.id limit ${limit}) r
    union all
    select * from (
      select 'assigned-across-offices', 'callback', b.id, c.office_id,
             'callback to ' || b.name || ' of customer ' || c.id || ' (office ' || c.office_id || ') is assigned to '
               || a.name || ' (' || a.id || ') of office ' || a.office_id
        from callbacks b join customers c on c.id = b.customer_id join agents a on a.id = b.assignee_id
       where b.ends_at > now() and a.office_id <> c.office_id and (${office}::text is null or c.office_id = ${office})
       order by b.id limit ${limit}) b`);

  return [...customers, ...records, ...callbacks, ...leadSources, ...agents, ...acrossOffices];
}
