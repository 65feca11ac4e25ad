/**
 * The two reassign kinds: a bulk owner change of customers (an agent's whole book or a list), and
 * callbacks of an absent agent to someone else (a cover when `until` is given). Neither blocks on
 * lead sources nor holds the agent, and there is nothing to finish.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { ReassignCallbacksRequest, ReassignCustomersRequest } from '../domain/handover';
import { Refusal } from '../domain/refusal';
import type { MoveStep } from './moves';
import { sources } from './plan';
import { availableAgent, checkSuccessors, type Scope } from './successors';

export async function validateReassignCustomers(
  db: Db,
  request: ReassignCustomersRequest,
  handoverId?: string,
): Promise<Scope> {
  if ('agentId' in request.from) {
    const agent = await availableAgent(db, request.from.agentId, handoverId, 'body/from/agentId');
    await checkSuccessors(db, request.to, agent, agent.office_id);
    return { agent, officeId: agent.office_id };
  }
  const ids = [...new Set(request.from.customerIds)];
  const { rows } = await sql<{ office_id: string; count: number }>`
    select office_id, count(*) as count from customers where id = any(${ids}::text[]) group by office_id`.execute(db);
  const found = rows.reduce((sum, r) => sum + Number(r.count), 0);
  if (found < ids.length) {
    const { rows: missing } = await sql<{ id: string }>`
      select u.id from unnest(${ids}::text[]) as u(id)
      where not exists (select 1 from customers c where c.id = u.id) limit 5`.execute(db);
    throw new Refusal(
      422,
      `${ids.length - found} of the customers do not exist (e.g. ${missing.map((m) => m.id).join(', ')})`,
      'body/from/customerIds',
    );
  }
  if (rows.length !== 1) {
    throw new Refusal(
      422,
      'the customers belong to several offices; reassign them office by office',
      'body/from/customerIds',
    );
  }
  const officeId = rows[0]!.office_id;
  await checkSuccessors(db, request.to, undefined, officeId);
  return { officeId };
}

export async function reassignCustomersMoves(_db: Db, request: ReassignCustomersRequest): Promise<MoveStep[]> {
  const source =
    'agentId' in request.from
      ? sources.customersOwnedBy(request.from.agentId)
      : sources.customersListed([...new Set(request.from.customerIds)]);
  return [{ entity: 'customer', field: 'owner_id', source, target: { successor: request.to } }, { follow: 'records' }];
}

export async function validateReassignCallbacks(
  db: Db,
  request: ReassignCallbacksRequest,
  handoverId?: string,
): Promise<Scope> {
  const agent = await availableAgent(db, request.fromAgentId, handoverId, 'body/fromAgentId');
  if ('unassign' in request.to)
    throw new Refusal(422, 'callbacks need someone to make them: give an agent or a pool', 'body/to');
  await checkSuccessors(db, request.to, agent, agent.office_id);
  if (request.window && !(Date.parse(request.window.from) < Date.parse(request.window.to))) {
    throw new Refusal(422, 'window.from must be before window.to', 'body/window');
  }
  if (request.until && !handoverId && Date.parse(request.until) <= Date.now()) {
    throw new Refusal(422, '`until` must be in the future: it is when the callbacks go back', 'body/until');
  }
  return { agent, officeId: agent.office_id };
}

export async function reassignCallbacksMoves(_db: Db, request: ReassignCallbacksRequest): Promise<MoveStep[]> {
  const source = sources.callbacksOf(request.fromAgentId, request.window);
  return [{ entity: 'callback', field: 'assignee_id', source, target: { successor: request.to } }];
}
