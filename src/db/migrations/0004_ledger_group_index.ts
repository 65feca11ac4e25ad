import { type Kysely, sql } from 'kysely';

/**
 * The ledger read by group (entity and field) in seq ranges: a move batch, the mails' per-successor
 * counts and callback lists, the summary. Measured by `npm run bench` at 100,000 customers: the move
 * 6.5 s → 5.7 s, the sweep 0.29 s → 0.16 s, a successor's callback list 140 ms → 5 ms; planning the
 * same. It replaces (handover_id, seq), which it serves too wherever the group is known.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index handover_moves_group_idx on handover_moves (handover_id, entity, field, seq)`.execute(db);
  await sql`drop index handover_moves_batch_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create index handover_moves_batch_idx on handover_moves (handover_id, seq)`.execute(db);
  await sql`drop index handover_moves_group_idx`.execute(db);
}
