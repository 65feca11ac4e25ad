/**
 * Offboard: everything the agent owns or is assigned goes to the successors, then the agent is
 * `offboarded`. What it validates, plans and finishes; the saga skeleton does the rest.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Agent } from '../db/schema';
import type { OffboardRequest } from '../domain/handover';
import { Refusal } from '../domain/refusal';
import { checkSuccessors, customerSlots, successorByCycle, successorByRank } from './successors';

/** The refusals of API.md that depend on data; `handoverId` allows the agent to be `leaving` for this handover. */
export async function validateOffboard(db: Db, request: OffboardRequest, handoverId?: string): Promise<Agent> {
  const agent = await db.selectFrom('agents').selectAll().where('id', '=', request.agentId).executeTakeFirst();
  if (!agent) throw new Refusal(404, `agent ${request.agentId} does not exist`, 'body/agentId');
  if (agent.status === 'offboarded') throw new Refusal(422, `agent ${agent.name} (${agent.id}) is already offboarded`);
  if (agent.status === 'leaving' && !(handoverId && (await isLeavingFor(db, agent.id, handoverId)))) {
    throw new Refusal(409, `agent ${agent.name} (${agent.id}) is already in a running handover`);
  }
  await checkSuccessors(db, request.to, agent, agent.office_id);
  return agent;
}

async function isLeavingFor(db: Db, agentId: string, handoverId: string): Promise<boolean> {
  const row = await db
    .selectFrom('handovers')
    .select('id')
    .where('id', '=', handoverId)
    .where('agent_id', '=', agentId)
    .where('agent_prev_status', 'is not', null)
    .executeTakeFirst();
  return row !== undefined;
}

/** Entities an offboarding of `agentId` would move now: the same predicates as the plan below. */
export async function countOffboard(db: Db, agentId: string) {
  const row = await sql<{
    customers: number;
    unsubscribed: number;
    trashed: number;
    records: number;
    callbacks: number;
  }>`
    select
      (select count(*) from customers where owner_id = ${agentId}) as customers,
      (select count(*) from customers where owner_id = ${agentId} and not subscribed) as unsubscribed,
      (select count(*) from customers where owner_id = ${agentId} and trashed_at is not null) as trashed,
      (select count(*) from customer_records where assignee_id = ${agentId} and status = 'open') as records,
      (select count(*) from callbacks where assignee_id = ${agentId} and ends_at > now()) as callbacks`.execute(db);
  return row.rows[0]!;
}

/**
 * Writes the plan into the ledger: every customer the agent owns (subscribed or not, trashed or
 * not), their open records assigned to the agent (they follow their customer), every other open
 * record assigned to it, and its callbacks that have not ended. Idempotent: re-planning adds only
 * what appeared since, so it also serves as the final sweep. Rows go in in id order (ledger
 * `seq` order), so batches touch neighbouring rows.
 */
export async function planOffboard(db: Db, handoverId: string, request: OffboardRequest): Promise<number> {
  const agentId = request.agentId;
  const to = request.to;
  return await db.transaction().execute(async (trx) => {
    // These statements read the agent's whole book; hash joins are right for that whatever freshly
    // loaded tables' statistics say (a nested loop over unanalysed rows took minutes at 20,000).
    await sql`set local enable_nestloop = off`.execute(trx);
    const { count } = (
      await sql<{ count: number }>`select count(*) as count from customers c
        where owner_id = ${agentId} and not exists (select 1 from handover_moves m
          where m.handover_id = ${handoverId} and m.entity = 'customer' and m.entity_id = c.id)`.execute(trx)
    ).rows[0]!;
    const rn = sql`rn`;
    const customerTarget =
      'pool' in to && to.strategy === 'least-loaded'
        ? successorByRank(rn, await customerSlots(db, to, count))
        : successorByCycle(rn, to);
    const inserted = [
      await sql`
        insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
        select ${handoverId}, 'customer', id, 'owner_id', owner_id, ${customerTarget}
        from (select c.id, c.owner_id, row_number() over (order by c.id) as rn from customers c
              where c.owner_id = ${agentId} and not exists (select 1 from handover_moves m
                where m.handover_id = ${handoverId} and m.entity = 'customer' and m.entity_id = c.id)) as c
        order by id
        on conflict do nothing`.execute(trx),
      await sql`
        insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
        select ${handoverId}, 'record', r.id, 'assignee_id', r.assignee_id, m.to_value
        from customer_records r
        join handover_moves m on m.handover_id = ${handoverId} and m.entity = 'customer'
          and m.field = 'owner_id' and m.entity_id = r.customer_id
        where r.assignee_id = ${agentId} and r.status = 'open'
        order by m.seq, r.id
        on conflict do nothing`.execute(trx),
      await sql`
        insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
        select ${handoverId}, 'record', id, 'assignee_id', assignee_id, ${successorByCycle(rn, to)}
        from (select r.id, r.assignee_id, row_number() over (order by r.id) as rn from customer_records r
              where r.assignee_id = ${agentId} and r.status = 'open' and not exists (select 1 from handover_moves m
                where m.handover_id = ${handoverId} and m.entity = 'record' and m.entity_id = r.id)) as r
        order by id
        on conflict do nothing`.execute(trx),
      await sql`
        insert into handover_moves (handover_id, entity, entity_id, field, from_value, to_value)
        select ${handoverId}, 'callback', id, 'assignee_id', assignee_id, ${successorByCycle(rn, to)}
        from (select cb.id, cb.assignee_id, row_number() over (order by cb.id) as rn from callbacks cb
              where cb.assignee_id = ${agentId} and cb.ends_at > now() and not exists (select 1 from handover_moves m
                where m.handover_id = ${handoverId} and m.entity = 'callback' and m.entity_id = cb.id)) as cb
        order by id
        on conflict do nothing`.execute(trx),
    ];
    return inserted.reduce((sum, r) => sum + Number(r.numAffectedRows ?? 0), 0);
  });
}

/** The agent is deactivated; invariant 2 is checked before, so a straggler fails loudly instead of being stranded. */
export async function finishOffboard(db: Db, request: OffboardRequest): Promise<void> {
  const left = await countOffboard(db, request.agentId);
  const leadSources = await db
    .selectFrom('lead_sources')
    .select('key')
    .where('default_assignee_id', '=', request.agentId)
    .execute();
  if (left.customers + left.records + left.callbacks + leadSources.length > 0) {
    throw new Refusal(
      409,
      `agent ${request.agentId} still has ${left.customers} customers, ${left.records} open records, ` +
        `${left.callbacks} callbacks and ${leadSources.length} lead sources after the move; ` +
        'something assigned them during the handover. Retry the handover.',
    );
  }
  await db
    .updateTable('agents')
    .set({ status: 'offboarded', updated_at: new Date() })
    .where('id', '=', request.agentId)
    .where('status', 'in', ['leaving', 'offboarded'])
    .execute();
}
