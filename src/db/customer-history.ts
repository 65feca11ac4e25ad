/**
 * customer_history rows (invariant 8): every owner, office and trash change of a customer,
 * with actor and handover, written in the same transaction as the change itself.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema';

export type CustomerChange =
  | { customerId: string; field: 'owner_id' | 'office_id'; from: string | null; to: string | null }
  | { customerId: string; field: 'trashed'; from: boolean; to: boolean };

export interface HistoryMeta {
  /** `actorId(request.actor)`, or whoever started the handover. */
  actor: string;
  handoverId?: string | null;
  /** Default: the database's now() (the transaction's start time). */
  at?: Date;
}

/** Trash changes are stored as 'true' / 'false'; owner and office changes as the IDs (or null). */
export const trashedValue = (trashed: boolean) => (trashed ? 'true' : 'false');

// 6 parameters a row: 5,000 rows stay far below PostgreSQL's 65,535 bind parameters.
const CHUNK = 5000;

/**
 * Inserts one history row per change that really changes something (from ≠ to), chunked.
 * Pass the transaction (`trx`) the change itself runs in.
 */
export async function writeCustomerHistory(
  db: Kysely<Database>,
  changes: readonly CustomerChange[],
  meta: HistoryMeta,
): Promise<number> {
  const rows = changes
    .filter((c) => c.from !== c.to)
    .map((c) => ({
      customer_id: c.customerId,
      field: c.field,
      from_value: c.field === 'trashed' ? trashedValue(c.from) : c.from,
      to_value: c.field === 'trashed' ? trashedValue(c.to) : c.to,
      actor: meta.actor,
      handover_id: meta.handoverId ?? null,
      ...(meta.at ? { at: meta.at } : {}),
    }));
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('customer_history')
      .values(rows.slice(i, i + CHUNK))
      .execute();
  }
  return rows.length;
}
