/**
 * Access and assignment rules shared by the directory routes (agents, customers, records, callbacks).
 */
import type { Kysely } from 'kysely';
import type { Agent, AgentStatus, Database } from '../db/schema';
import { type Actor, actsAsAdmin } from './auth';
import { forbidden, notFound, type Problem, unprocessable } from './problem';

/** An unknown ID: 404 for the org admin; 403 for everyone else, as for anything outside their office. */
export function unknown(actor: Actor, what: string): Problem {
  return actor.kind === 'org-admin' ? notFound(`${what} not found`) : forbidden(`you may not access ${what}`);
}

/** 403 for a plain agent: it may read its own customers and callbacks, nothing else. */
export function requireAnyAdmin(actor: Actor): void {
  if (actor.kind === 'agent' && !actsAsAdmin(actor)) {
    throw forbidden('an agent may read its own customers and callbacks only');
  }
}

/**
 * The office a list is limited to for an office admin (undefined for the org admin).
 * A filter naming another office is 403, whatever the ID.
 */
export function scopeOffice(actor: Actor, requested: string | undefined): string | undefined {
  if (actor.kind === 'org-admin') return requested;
  if (requested !== undefined && requested !== actor.agent.office_id) {
    throw forbidden('you do not administer that office');
  }
  return actor.agent.office_id;
}

/** Statuses that may be given something new (invariant 7: never a `leaving` or `offboarded` agent). */
export const RECEIVING: readonly AgentStatus[] = ['active', 'absent'];

export interface AssigneeRule {
  /** e.g. "ownerId", "assigneeId" — names the field in the problem. */
  field: string;
  /** Default: active or absent. Lead sources need `active`. */
  statuses?: readonly AgentStatus[];
  /** Problem path, default `body/<field>`. */
  path?: string;
}

/**
 * Loads agent `agentId` and checks it may receive something new in office `officeId`; 422 otherwise.
 * Inside a transaction the row is locked FOR SHARE, so a handover cannot mark it `leaving`
 * between this check and the commit (its status update waits for us, and its plan then sees our row).
 */
export async function loadAssignee(
  db: Kysely<Database>,
  agentId: string,
  officeId: string,
  rule: AssigneeRule,
): Promise<Agent> {
  const agent = await db.selectFrom('agents').selectAll().where('id', '=', agentId).forShare().executeTakeFirst();
  return checkAssignee(agent, agentId, officeId, rule);
}

/** The check of `loadAssignee` on an agent already loaded (or undefined when unknown). */
export function checkAssignee(agent: Agent | undefined, agentId: string, officeId: string, rule: AssigneeRule): Agent {
  const statuses = rule.statuses ?? RECEIVING;
  const path = rule.path ?? `body/${rule.field}`;
  const refuse = (message: string) => unprocessable(`${rule.field}: ${message}`, [{ path, message }]);
  if (!agent) throw refuse(`agent ${agentId} does not exist`);
  // Not its name: the caller may not administer the agent's office.
  if (agent.office_id !== officeId) throw refuse(`agent ${agent.id} is not in office ${officeId}`);
  if (!statuses.includes(agent.status)) throw refuse(assigneeStatusMessage(agent, statuses));
  return agent;
}

export function assigneeStatusMessage(agent: Agent, statuses: readonly AgentStatus[] = RECEIVING): string {
  const why =
    agent.status === 'leaving'
      ? 'a handover of this agent is running, so nothing new can be assigned to it; retry after the handover'
      : agent.status === 'offboarded'
        ? 'it has been deactivated'
        : `it must be ${statuses.join(' or ')}`;
  return `agent ${agent.name} (${agent.id}) is ${agent.status}: ${why}`;
}
