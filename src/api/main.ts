/** `npm run api`: the HTTP API alone, against TEMPORAL_ADDRESS (default localhost:7233). */
import { loadConfig, POOL_SIZE } from '../config';
import { createDb } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { runApi, stopOnSignals } from '../services';

const config = loadConfig();
// `npm start` makes a token up for a trial run; a deployed API never runs without one.
if (!config.adminToken) {
  console.error(
    "ADMIN_TOKEN is not set: set it to the organisation administrator's bearer token (e.g. openssl rand -base64 32)",
  );
  process.exit(1);
}
const db = createDb(config.databaseUrl, POOL_SIZE.api);
await migrateToLatest(db);
const api = await runApi(config, db, config.temporalAddress ?? '127.0.0.1:7233');
stopOnSignals([() => db.destroy(), () => api.stop()]);
console.log(`API listening on ${api.url}`);
