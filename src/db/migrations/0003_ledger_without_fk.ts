import { type Kysely, sql } from 'kysely';

/**
 * The ledger's foreign key to `handovers` cost a trigger call per planned row: a third of a
 * 100,000-customer plan (`npm run bench`). The plan inserts ledger rows only while it holds its
 * handover's row locked FOR UPDATE, and handovers are never deleted, so the key checked nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table handover_moves drop constraint handover_moves_handover_id_fkey`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table handover_moves add constraint handover_moves_handover_id_fkey
    foreign key (handover_id) references handovers (id)`.execute(db);
}
