import { loadConfig } from '../config';
import { createDb } from './connect';
import { migrateToLatest } from './migrate';

const db = createDb(loadConfig().databaseUrl, 1);
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await db.destroy();
}
