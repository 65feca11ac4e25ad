/**
 * Transfer: the agent moves to another office. With `move` its customers go with it (their office
 * changes, they stay its own); with `stay` they go to `to` inside the old office. The agent's own
 * office change is the plan's last move, so compensation reverts it like any other.
 */
import type { Db } from '../db/connect';
import type { TransferRequest } from '../domain/handover';
import { Refusal } from '../domain/refusal';
import {
  constant,
  cycleOver,
  planCustomerOwners,
  planEntities,
  planInTransaction,
  planRecordsFollowingCustomers,
  sources,
} from './plan';
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
  if (request.customers === 'stay') {
    if (!request.to)
      throw new Refusal(422, 'customers: "stay" needs `to`: who takes them over in the old office', 'body/to');
    if (!moved) await checkSuccessors(db, request.to, agent, agent.office_id);
  }
  return { agent, officeId: agent.office_id };
}

export function planTransfer(db: Db, handoverId: string, request: TransferRequest): Promise<number> {
  const { agentId, toOfficeId } = request;
  return planInTransaction(db, handoverId, async (trx) => {
    const steps = [];
    if (request.customers === 'move') {
      steps.push(
        await planEntities(
          trx,
          handoverId,
          'customer',
          'office_id',
          sources.customersOfOwnerForOffice(agentId),
          constant(toOfficeId),
        ),
      );
    } else if (request.to) {
      steps.push(
        await planCustomerOwners(trx, handoverId, sources.customersOwnedBy(agentId), request.to),
        await planRecordsFollowingCustomers(trx, handoverId),
        await planEntities(
          trx,
          handoverId,
          'record',
          'assignee_id',
          sources.otherOpenRecordsOf(agentId),
          cycleOver(request.to),
        ),
      );
    }
    steps.push(await planEntities(trx, handoverId, 'agent', 'office_id', sources.agent(agentId), constant(toOfficeId)));
    return steps;
  });
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
