/**
 * Shared by the HR webhook and SCIM: who takes over when an integration names no successor,
 * and the handover an idempotency key already started.
 */
import type { Db } from '../../db/connect';
import type { Successor } from '../../domain/handover';
import type { Actor } from '../auth';
import { unprocessable } from '../problem';

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
