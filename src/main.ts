/**
 * `npm start`: one process with everything a newcomer needs — migrations, an embedded Temporal
 * dev server with its Web UI (unless TEMPORAL_ADDRESS is set), the worker and the API.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { loadConfig } from './config';
import { createDb } from './db/connect';
import { ensureDatabase } from './db/ensure-database';
import { migrateToLatest } from './db/migrate';
import { runApi, runWorker, stopOnSignals } from './services';
import { startDevServer } from './temporal/dev-server';

if (!process.env.ADMIN_TOKEN) {
  process.env.ADMIN_TOKEN = `dev-${randomBytes(12).toString('hex')}`;
  console.log(`ADMIN_TOKEN is not set; this run's organisation admin token is ${process.env.ADMIN_TOKEN}`);
}
const stops: Array<() => Promise<void>> = [];
stopOnSignals(stops);

let address = process.env.TEMPORAL_ADDRESS;
if (!address) {
  mkdirSync('data', { recursive: true });
  console.log('TEMPORAL_ADDRESS is not set: starting an embedded Temporal dev server (data/temporal.db)…');
  const server = await startDevServer({
    port: 7233,
    uiPort: 8233,
    ui: true,
    dbFilename: 'data/temporal.db',
    log: console.log,
  });
  stops.push(() => server.stop());
  address = server.address;
  process.env.TEMPORAL_UI_URL ??= server.uiUrl;
}
const config = loadConfig();

if (await ensureDatabase(config.databaseUrl))
  console.log(`created database ${new URL(config.databaseUrl).pathname.slice(1)}`);
const db = createDb(config.databaseUrl, 20);
stops.push(() => db.destroy());
const applied = await migrateToLatest(db);
if (applied.length) console.log(`migrations applied: ${applied.join(', ')}`);

const worker = await runWorker(config, db, address);
stops.push(() => worker.stop());
const api = await runApi(config, db, address);
stops.push(() => api.stop());

console.log(`
  API          ${api.url}   (GET /readyz, /v1/…)
  API docs     ${api.url}/docs
  Temporal UI  ${config.temporalUiUrl ?? `(external Temporal at ${address})`}
  Temporal     ${address}, namespace ${config.temporalNamespace}, task queue ${config.taskQueue}
  Mail         ${config.smtpUrl ?? `files in ${config.mailOutboxDir}/ (set SMTP_URL to send)`}
Ctrl-C stops everything.`);
