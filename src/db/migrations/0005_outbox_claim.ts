import { type Kysely, sql } from 'kysely';

/**
 * Invariant 5: a delivery claims its outbox row until `claimed_until` before it talks to SMTP, so
 * a second attempt of the mail activity (one whose heartbeat timed out while a slow SMTP server
 * was answering) skips the row instead of sending it again; after the claim lapses (the first
 * attempt died) the row is delivered, at least once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table notification_outbox add column claimed_until timestamptz`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table notification_outbox drop column claimed_until`.execute(db);
}
