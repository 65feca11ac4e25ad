/**
 * Transfer: the agent moves to another office. With `move` its customers go with it (their office
 * changes, they stay its own); with `stay` they go to `to` inside the old office. The agent's own
 * office change is the plan's last move, so compensation reverts it like any other.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Successor, TransferRequest } from '../domain/handover';
import { Refusal } from '../domain/refusal';
import type { MoveStep } from './moves';
import { sources } from './plan';
import { availableAgent, checkSuccessors, type Scope } from './successors';

export async function validateTransfer(db: Db, request: TransferRequest, handoverId?: string): Promise<Scope> {
  const agent = await availableAgent(db, request.agentId, handoverId, 'body/agentId');
  const office = await db.selectFrom('offices').select('id').where('id', '=', request.toOfficeId).executeTakeFirst();
  if (!office) throw new Refusal(422, `office ${request.toOfficeId} does not exist`, 'body/toOfficeId');
  // Re-validation inside the workflow runs after the agent's own office move may have been applied.
  const moved = handoverId !== undefined && agent.office_id === request.toOfficeId;
  if (agent.office_id === request.toOfficeId && !moved) {
    throw new Refusal(
      422,
      `agent ${agent.name} (${agent.id}) is already in office ${request.toOfficeId}`,
      'body/toOfficeId',
    );
  }
  if (request.customers === 'stay' && !request.to) {
    throw new Refusal(422, 'customers: "stay" needs `to`: who takes them over in the old office', 'body/to');
  }
  // `to` takes over inside the old office: the customers that stay (`stay`), or what the agent holds on others' (`move`).
  if (request.to && !moved) await checkSuccessors(db, request.to, agent, agent.office_id);
  if (request.customers === 'move' && !request.to && !moved) await oldOfficePool(db, agent.office_id, agent.id);
  return { agent, officeId: agent.office_id };
}

/**
 * After a transfer no open record and no callback is assigned across offices (invariant 9):
 * with `move` the moved customers' open records and callbacks come along to the agent, and what the
 * agent holds on customers that stay (or on no customer) goes to `to`, or to the old office's
 * least-loaded pool when `to` is absent; with `stay` all of it goes to `to`.
 */
export async function transferMoves(db: Db, request: TransferRequest, oldOffice: string): Promise<MoveStep[]> {
  const { agentId, toOfficeId } = request;
  const steps: MoveStep[] = [];
  if (request.customers === 'move') {
    const handedTo = { successor: request.to ?? (await oldOfficePool(db, oldOffice, agentId)) };
    const toAgent = { value: agentId };
    steps.push(
      {
        entity: 'customer',
        field: 'office_id',
        source: sources.customersOfOwnerForOffice(agentId),
        target: { value: toOfficeId },
      },
      { entity: 'record', field: 'assignee_id', source: sources.othersOpenRecordsOn(agentId), target: toAgent },
      { entity: 'callback', field: 'assignee_id', source: sources.othersCallbacksOn(agentId), target: toAgent },
      { entity: 'record', field: 'assignee_id', source: sources.otherOpenRecordsOf(agentId), target: handedTo },
      { entity: 'callback', field: 'assignee_id', source: sources.otherCallbacksOf(agentId), target: handedTo },
    );
  } else if (request.to) {
    const successor = { successor: request.to };
    steps.push(
      { entity: 'customer', field: 'owner_id', source: sources.customersOwnedBy(agentId), target: successor },
      { agentRecords: agentId, target: successor },
      { entity: 'callback', field: 'assignee_id', source: sources.callbacksOf(agentId), target: successor },
    );
  }
  // The agent's own office change is the last move, so compensation reverts it like any other.
  steps.push({ entity: 'agent', field: 'office_id', source: sources.agent(agentId), target: { value: toOfficeId } });
  return steps;
}

/**
 * The other active agents of the office the agent leaves, least loaded first: who takes what the
 * agent holds on customers that stay when a `move` names no `to`. Nobody there, while there is
 * something to hand over, refuses the transfer before anything moves.
 */
async function oldOfficePool(db: Db, officeId: string, agentId: string): Promise<Successor> {
  const { rows } = await sql<{ id: string }>`
    select a.id from agents a
    where a.office_id = ${officeId} and a.status = 'active' and a.id <> ${agentId}
    order by (select count(*) from customers c where c.owner_id = a.id), a.id`.execute(db);
  if (rows.length > 0) return { pool: rows.map((r) => r.id), strategy: 'least-loaded' };
  const { rows: held } = await sql<{ n: number }>`
    select (select count(*) from (${sources.otherOpenRecordsOf(agentId)}) r)
         + (select count(*) from (${sources.otherCallbacksOf(agentId)}) b) as n`.execute(db);
  if (Number(held[0]!.n) > 0) {
    throw new Refusal(
      422,
      `agent ${agentId} holds ${held[0]!.n} open records and callbacks on customers that stay in office ${officeId}, ` +
        'and nobody else is active there to take them: give `to`',
      'body/to',
    );
  }
  return { unassign: true };
}

/**
 * In its new office the agent is `active` again, as a plain agent with no token: rights given in
 * the old office do not carry over (API.md, Auth). The new office's admins (or the org admin)
 * give it tokens and promote it. One transaction, so no token outlives the arrival.
 */
export async function finishTransfer(db: Db, request: TransferRequest): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const arrived = await trx
      .updateTable('agents')
      .set({ status: 'active', role: 'agent', updated_at: new Date() })
      .where('id', '=', request.agentId)
      .where('status', '=', 'leaving')
      .returning('id')
      .executeTakeFirst();
    if (arrived) await trx.deleteFrom('api_tokens').where('agent_id', '=', request.agentId).execute();
  });
}
