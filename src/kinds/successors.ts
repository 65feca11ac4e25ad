/** Successor rules and the SQL that spreads entities over successors, shared by every kind. */
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Agent } from '../db/schema';
import { leastLoadedQuota, roundRobinQuota, type Slot } from '../domain/distribution';
import type { HandoverRequest } from '../domain/handover';
import { type Successor, successorIds } from '../domain/handover';
import { Refusal } from '../domain/refusal';

/** Whom and where a handover is about: the office decides who may start it. */
export interface Scope {
  agent?: Agent;
  officeId: string;
}

/**
 * The agent a handover is about, if it may be handed over: it exists, is not offboarded, and is
 * not `leaving` for another handover (it may be for `handoverId`, when the workflow re-validates).
 */
export async function availableAgent(db: Db, agentId: string, handoverId: string | undefined, path: string) {
  const agent = await db.selectFrom('agents').selectAll().where('id', '=', agentId).executeTakeFirst();
  if (!agent) throw new Refusal(404, `agent ${agentId} does not exist`, path);
  if (agent.status === 'offboarded') throw new Refusal(422, `agent ${agent.name} (${agent.id}) is offboarded`, path);
  if (agent.status === 'leaving') {
    const own = handoverId
      ? await db
          .selectFrom('handovers')
          .select('id')
          .where('id', '=', handoverId)
          .where('agent_id', '=', agentId)
          .where('agent_prev_status', 'is not', null)
          .executeTakeFirst()
      : undefined;
    if (!own) throw new Refusal(409, `agent ${agent.name} (${agent.id}) is already in a running handover`, path);
  }
  return agent;
}

/**
 * Invariant 7: a successor exists, is `active` (not absent, leaving or offboarded), is not the
 * agent handing over, and belongs to `officeId`.
 */
export async function checkSuccessors(db: Db, to: Successor, leaving: Agent | undefined, officeId: string) {
  const ids = successorIds(to);
  if ('pool' in to && ids.length === 0) throw new Refusal(422, 'the successor pool is empty', 'body/to/pool');
  const agents = ids.length ? await db.selectFrom('agents').selectAll().where('id', 'in', ids).execute() : [];
  for (const id of ids) {
    const agent = agents.find((a) => a.id === id);
    if (!agent) throw new Refusal(422, `successor ${id} does not exist`, 'body/to');
    if (leaving && agent.id === leaving.id) {
      throw new Refusal(422, `successor ${id} is the agent handing over; choose someone else`, 'body/to');
    }
    // The office first, and without its name or status: the caller may not administer the agent's office.
    if (agent.office_id !== officeId) {
      throw new Refusal(422, `successor ${id} is not in office ${officeId}`, 'body/to');
    }
    if (agent.status !== 'active') {
      throw new Refusal(
        422,
        `successor ${agent.name} (${id}) is ${agent.status}; only active agents can take over`,
        'body/to',
      );
    }
  }
  return agents;
}

/** How `total` customers split over the successors (bySuccessor of a preview, ranges of a plan). */
export async function customerSlots(db: Db, to: Successor, total: number): Promise<Slot[]> {
  if ('unassign' in to) return [{ agentId: null, count: total }];
  if ('agentId' in to) return [{ agentId: to.agentId, count: total }];
  const pool = successorIds(to);
  if (to.strategy === 'round-robin') return roundRobinQuota(pool, total);
  // Nothing to share (a sweep that found nothing): no count of the pool's books. They grow with
  // every handover to them; in an office closing, these counts took a third of the database's time.
  if (total <= 0) return pool.map((agentId) => ({ agentId, count: 0 }));
  const loads = await db
    .selectFrom('customers')
    .select(['owner_id', (eb) => eb.fn.countAll<number>().as('load')])
    .where('owner_id', 'in', pool)
    .groupBy('owner_id')
    .execute();
  return leastLoadedQuota(
    pool.map((agentId) => ({ agentId, load: Number(loads.find((l) => l.owner_id === agentId)?.load ?? 0) })),
    total,
  );
}

/**
 * SQL choosing the successor of the `rn`-th entity (1-based, in id order): ranges of `slots`
 * for customers, so a least-loaded split is exact; a plain cycle over the pool for the rest.
 */
export function successorByRank(rn: RawBuilder<unknown>, slots: Slot[]): RawBuilder<string | null> {
  if (slots.length === 1) return sql`${slots[0]!.agentId}::text`;
  const cases: RawBuilder<unknown>[] = [];
  let upTo = 0;
  for (const slot of slots) {
    if (slot.count === 0) continue;
    upTo += slot.count;
    cases.push(sql`when ${rn} <= ${upTo} then ${slot.agentId}::text`);
  }
  if (cases.length === 0) return sql`null::text`;
  return sql`(case ${sql.join(cases, sql` `)} end)`;
}

export function successorByCycle(rn: RawBuilder<unknown>, to: Successor): RawBuilder<string | null> {
  if ('unassign' in to) return sql`null::text`;
  const ids = successorIds(to);
  if (ids.length === 1) return sql`${ids[0]}::text`;
  return sql`(${ids}::text[])[((${rn} - 1) % ${ids.length}) + 1]`;
}

/**
 * Successors as they are when planning starts, after any wait (API.md, "What moves"): pool members
 * no longer `active` in `officeId` are left out (a pool of the office is computed afresh); a single
 * successor, or a pool with nobody left, refuses the handover before anything moves, saying whom
 * to pick instead. Returns the request to plan with (the caller stores it, so the sweep agrees).
 */
export async function currentSuccessors<R extends HandoverRequest>(
  db: Db,
  request: R,
  agentId: string | undefined,
  officeId: string,
): Promise<R> {
  const to = 'to' in request ? request.to : undefined;
  if (!to || 'unassign' in to) return request;
  const active = await db
    .selectFrom('agents')
    .select(['id', 'name', 'status', 'office_id'])
    .where('office_id', '=', officeId)
    .where('status', '=', 'active')
    .$if(agentId !== undefined, (q) => q.where('id', '!=', agentId!))
    .orderBy('id')
    .execute();
  const isActive = new Set(active.map((a) => a.id));
  const others = active.length ? active.map((a) => `${a.name} (${a.id})`).join(', ') : 'nobody is active there now';
  if ('agentId' in to) {
    if (isActive.has(to.agentId)) return request;
    const agent = await db
      .selectFrom('agents')
      .select(['name', 'status', 'office_id'])
      .where('id', '=', to.agentId)
      .executeTakeFirst();
    const now = !agent
      ? 'no longer exists'
      : agent.office_id !== officeId
        ? `is no longer in office ${officeId}`
        : `is ${agent.status} now`;
    throw new Refusal(
      422,
      `successor ${agent?.name ?? to.agentId} (${to.agentId}) ${now}; nothing was moved. Start a new handover naming someone else: ${others}`,
      'body/to',
    );
  }
  const pool = request.poolOfOffice ? active.map((a) => a.id) : to.pool.filter((id) => isActive.has(id));
  if (pool.length === 0) {
    throw new Refusal(
      422,
      `nobody in the successor pool is still active in office ${officeId}; nothing was moved. Start a new handover naming someone else: ${others}`,
      'body/to/pool',
    );
  }
  return { ...request, to: { ...to, pool } };
}
