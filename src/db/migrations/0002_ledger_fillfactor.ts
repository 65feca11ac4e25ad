import { type Kysely, sql } from 'kysely';

/**
 * Ledger tuning, measured by `npm run bench`: room on each page so stamping a row applied or
 * reverted is a HOT update (no index writes); and no wide unique index over (handover, entity,
 * entity_id, field), whose upkeep was most of the plan's cost — planning is serialised per
 * handover (a row lock) and only adds what is not planned yet, so it cannot plan a move twice.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table handover_moves set (fillfactor = 50)`.execute(db);
  await sql`alter table handover_moves drop constraint handover_moves_entity_unique`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table handover_moves reset (fillfactor)`.execute(db);
  await sql`alter table handover_moves add constraint handover_moves_entity_unique
    unique (handover_id, entity, entity_id, field)`.execute(db);
}
