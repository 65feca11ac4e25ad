/**
 * Shared by the HR webhook and SCIM: who takes over when an integration names no successor,
 * and the handover an idempotency key already started.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connect';
import type { Successor } from '../../domain/handover';
import { agentReturnedSignal } from '../../workflows/definitions';
import type { Actor } from '../auth';
import { RUNNING } from '../handovers/view';
import { conflict, unprocessable } from '../problem';

/** Integrations act with the organisation administrator's rights (they are authenticated by their own secret). */
export const INTEGRATION_ACTOR: Actor = { kind: 'org-admin' };

/**
 * `{pool: <the other active agents of the office>, strategy: "least-loaded"}`, ordered by ID so a
 * repeated request computes the same body (and so the same Idempotency-Key hash). 422 when empty.
 */
export async function officePool(db: Db, officeId: string, exceptAgentId: string, path: string): Promise<Successor> {
  const rows = await db
    .selectFrom('agents')
    .select('id')
    .where('office_id', '=', officeId)
    .where('status', '=', 'active')
    .where('id', '!=', exceptAgentId)
    .orderBy('id')
    .execute();
  if (rows.length === 0) {
    throw unprocessable(`office ${officeId} has no other active agent to take over; name a successor`, [
      { path, message: 'no successor and nobody else active in the office' },
    ]);
  }
  return { pool: rows.map((r) => r.id), strategy: 'least-loaded' };
}

/** The handover started under `key`, if any. */
export async function handoverByKey(db: Db, key: string): Promise<{ id: string } | undefined> {
  return db.selectFrom('handovers').select('id').where('idempotency_key', '=', key).executeTakeFirst();
}

/** How long a termination waits for a running cover to hand its callbacks back before answering 409 (retry later). */
const COVER_END_TIMEOUT_MS = 60_000;

/**
 * A termination of an agent under a running cover (API.md, HR events and SCIM) ends the cover
 * first: the callbacks go back to the agent, then its offboard moves them on. Waits for every
 * running callback handover of the agent to end, covers told to end now.
 */
export async function endRunningCovers(db: Db, temporal: Client, agentId: string): Promise<void> {
  for (const id of await signalCovers(db, temporal, agentId)) {
    const handle = temporal.workflow.getHandle(id);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), COVER_END_TIMEOUT_MS);
    });
    // Its outcome does not matter here (a cover that failed has handed back what it could): that it ended does.
    const ended = await Promise.race([
      handle.result().then(
        () => 'ended' as const,
        () => 'ended' as const,
      ),
      timedOut,
    ]);
    clearTimeout(timer);
    if (ended === 'timeout') {
      throw conflict(
        `agent ${agentId} is still covered by handover ${id}, which is handing its callbacks back; retry shortly`,
      );
    }
  }
}

/** Tells the running callback handovers of `agentId` that it is back (a cover hands back now); returns their IDs. */
export async function signalCovers(db: Db, temporal: Client, agentId: string): Promise<string[]> {
  const running = await db
    .selectFrom('handovers')
    .select('id')
    .where('agent_id', '=', agentId)
    .where('kind', '=', 'reassign-callbacks')
    .where('status', 'in', [...RUNNING])
    .execute();
  for (const { id } of running) {
    await temporal.workflow
      .getHandle(id)
      .signal(agentReturnedSignal)
      .catch(() => undefined); // already over: nothing to end
  }
  return running.map((r) => r.id);
}
