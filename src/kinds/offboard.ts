/**
 * Offboard: everything the agent owns or is assigned goes to the successors, then the agent is
 * `offboarded`. What it validates, plans and finishes; the saga skeleton does the rest.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { OffboardRequest } from '../domain/handover';
import { Refusal } from '../domain/refusal';
import type { MoveStep } from './moves';
import { sources } from './plan';
import { availableAgent, checkSuccessors, type Scope } from './successors';

/** The refusals of API.md that depend on data; `handoverId` allows the agent to be `leaving` for this handover. */
export async function validateOffboard(db: Db, request: OffboardRequest, handoverId?: string): Promise<Scope> {
  const agent = await availableAgent(db, request.agentId, handoverId, 'body/agentId');
  await checkSuccessors(db, request.to, agent, agent.office_id);
  return { agent, officeId: agent.office_id };
}

/**
 * What moves: every customer the agent owns (subscribed or not, trashed or not), their open records
 * assigned to the agent (they follow their customer), every other open record assigned to it,
 * and its callbacks that have not ended.
 */
export async function offboardMoves(_db: Db, request: OffboardRequest): Promise<MoveStep[]> {
  const { agentId, to } = request;
  const successor = { successor: to };
  return [
    { entity: 'customer', field: 'owner_id', source: sources.customersOwnedBy(agentId), target: successor },
    { agentRecords: agentId, target: successor },
    { entity: 'callback', field: 'assignee_id', source: sources.callbacksOf(agentId), target: successor },
  ];
}

/**
 * The agent is deactivated; invariant 2 is checked in the same transaction, after the agent row is
 * locked by the update, so a move batch of another handover assigning to this agent (which holds the row
 * FOR SHARE) is either seen here or refused there. A straggler fails loudly instead of being stranded.
 */
export async function finishOffboard(db: Db, request: OffboardRequest): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('agents')
      .set({ status: 'offboarded', updated_at: new Date() })
      .where('id', '=', request.agentId)
      .where('status', 'in', ['leaving', 'offboarded'])
      .execute();
    const left = await leftWith(trx, request.agentId);
    const leadSources = await trx
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
  });
}

/** What an agent still has that an offboarding must leave it without (invariant 2). */
async function leftWith(db: Db, agentId: string) {
  const { rows } = await sql<{ customers: number; records: number; callbacks: number }>`
    select (select count(*) from customers where owner_id = ${agentId}) as customers,
           (select count(*) from customer_records where assignee_id = ${agentId} and status = 'open') as records,
           (select count(*) from callbacks where assignee_id = ${agentId} and ends_at > now()) as callbacks`.execute(
    db,
  );
  return rows[0]!;
}
