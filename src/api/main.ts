/** `npm run api`: the HTTP API alone, against TEMPORAL_ADDRESS (default localhost:7233). */
import { loadConfig, POOL_SIZE } from '../config';
import { createDb } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { runApi, stopOnSignals } from '../services';

const config = loadConfig();
const db = createDb(config.databaseUrl, POOL_SIZE.api);
await migrateToLatest(db);
const api = await runApi(config, db, config.temporalAddress ?? '127.0.0.1:7233');
stopOnSignals([() => db.destroy(), () => api.stop()]);
console.log(`API listening on ${api.url}`);
