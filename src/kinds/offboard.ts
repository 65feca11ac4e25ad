/**
 * Offboard: everything the agent owns or is assigned goes to the successors, then the agent is
 * `offboarded`. What it validates, plans and finishes; the saga skeleton does the rest.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Agent } from '../db/schema';
import type { OffboardRequest } from '../domain/handover';
import { Refusal } from '../domain/refusal';
import {
  cycleOver,
  planCustomerOwners,
  planEntities,
  planInTransaction,
  planRecordsFollowingCustomers,
  sources,
} from './plan';
import { checkSuccessors } from './successors';

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
 * The plan: every customer the agent owns (subscribed or not, trashed or not), their open records
 * assigned to the agent (they follow their customer), every other open record assigned to it,
 * and its callbacks that have not ended.
 */
export function planOffboard(db: Db, handoverId: string, request: OffboardRequest): Promise<number> {
  const { agentId, to } = request;
  return planInTransaction(db, async (trx) => [
    await planCustomerOwners(trx, handoverId, sources.customersOwnedBy(agentId), to),
    await planRecordsFollowingCustomers(trx, handoverId),
    await planEntities(trx, handoverId, 'record', 'assignee_id', sources.openRecordsAssignedTo(agentId), cycleOver(to)),
    await planEntities(trx, handoverId, 'callback', 'assignee_id', sources.callbacksOf(agentId), cycleOver(to)),
  ]);
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
