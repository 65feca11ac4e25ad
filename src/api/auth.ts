import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/connect';
import type { Agent } from '../db/schema';
import { forbidden, unauthorized } from './problem';

/** Who is calling: the organisation administrator (ADMIN_TOKEN) or an agent by its token. */
export type Actor = { kind: 'org-admin' } | { kind: 'agent'; agent: Agent };

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const newToken = () => `hst_${randomBytes(24).toString('base64url')}`;

/** Compares a presented secret with the configured one in constant time (digests of equal length). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

export function actorId(actor: Actor): string {
  return actor.kind === 'org-admin' ? 'org-admin' : actor.agent.id;
}

export async function authenticate(db: Db, adminToken: string | undefined, header: string | undefined): Promise<Actor> {
  const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) throw unauthorized('send Authorization: Bearer <token>');
  if (adminToken && sameSecret(token, adminToken)) {
    return { kind: 'org-admin' };
  }
  const agent = await db
    .selectFrom('api_tokens')
    .innerJoin('agents', 'agents.id', 'api_tokens.agent_id')
    .selectAll('agents')
    .where('api_tokens.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!agent) throw unauthorized('unknown token');
  if (agent.status === 'offboarded') throw unauthorized(`agent ${agent.id} is offboarded; its tokens no longer work`);
  return { kind: 'agent', agent };
}

/**
 * An agent's admin rights hold while it is `active` or `absent`: an admin on its way out (`leaving`,
 * in a handover of its own) administers nothing, not even the office a transfer is moving it to.
 */
export function actsAsAdmin(actor: Actor): boolean {
  return actor.kind === 'org-admin' || (actor.agent.role === 'admin' && ADMIN_STATUSES.includes(actor.agent.status));
}
const ADMIN_STATUSES: readonly string[] = ['active', 'absent'];

export function isAdminOf(actor: Actor, officeId: string): boolean {
  return actor.kind === 'org-admin' || (actsAsAdmin(actor) && actor.agent.office_id === officeId);
}

/** Writes are for admins: a plain agent may read its own customers and callbacks, nothing else. */
export const mayWrite = actsAsAdmin;

/** 403 when an agent would act on itself: no agent starts, cancels or rechecks a handover of itself, nor changes its own status or role. */
export function refuseSelf(actor: Actor, agentId: string | null | undefined, what: string): void {
  if (actor.kind === 'agent' && agentId && actor.agent.id === agentId) {
    throw forbidden(
      `an agent may not ${what} itself; ask another admin of its office or the organisation administrator`,
    );
  }
}

export function requireOrgAdmin(actor: Actor): void {
  if (actor.kind !== 'org-admin') throw forbidden('only the organisation administrator may do this');
}

/** 403 unless the actor administers `officeId`. */
export function requireAdminOf(actor: Actor, officeId: string, what: string): void {
  if (!isAdminOf(actor, officeId)) throw forbidden(`you do not administer the office of ${what}`);
}

/**
 * Read access: admins of the office, or the agent itself for what it owns.
 * Anything else is 403, the same whether or not the object exists elsewhere.
 */
export function requireReader(actor: Actor, officeId: string, ownerId: string | null, what: string): void {
  if (isAdminOf(actor, officeId)) return;
  if (actor.kind === 'agent' && ownerId !== null && actor.agent.id === ownerId) return;
  throw forbidden(`you may not read ${what}`);
}
