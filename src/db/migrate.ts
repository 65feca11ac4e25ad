import { type Kysely, type Migration, Migrator } from 'kysely';
import * as initial from './migrations/0001_initial';
import * as ledgerFillfactor from './migrations/0002_ledger_fillfactor';
import * as ledgerWithoutFk from './migrations/0003_ledger_without_fk';
import * as ledgerGroupIndex from './migrations/0004_ledger_group_index';
import * as outboxClaim from './migrations/0005_outbox_claim';
import * as openRecordsByCustomerAndAssignee from './migrations/0006_open_records_by_customer_and_assignee';
import * as openRecordsByAssignee from './migrations/0007_open_records_by_assignee';

// Migrations listed in code (not read from a folder) so they bundle and run the same everywhere.
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_ledger_fillfactor': ledgerFillfactor,
  '0003_ledger_without_fk': ledgerWithoutFk,
  '0004_ledger_group_index': ledgerGroupIndex,
  '0005_outbox_claim': outboxClaim,
  '0006_open_records_by_customer_and_assignee': openRecordsByCustomerAndAssignee,
  '0007_open_records_by_assignee': openRecordsByAssignee,
};

// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${String(error)}`, { cause: error });
  }
  return (results ?? []).map((r) => r.migrationName);
}
