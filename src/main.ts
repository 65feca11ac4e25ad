/**
 * `npm start`: one process with everything a newcomer needs — migrations, an embedded Temporal
 * dev server with its Web UI (unless TEMPORAL_ADDRESS is set), the worker and the API.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { loadConfig, maskCredentials, POOL_SIZE } from './config';
import { createDb } from './db/connect';
import { ensureDatabase } from './db/ensure-database';
import { migrateToLatest } from './db/migrate';
import { seedDemo } from './demo';
import { runApi, runWorker, stopOnSignals } from './services';
import { freePort, startDevServer } from './temporal/dev-server';
import { installWorkerTelemetry } from './worker/telemetry';

const EMBEDDED_DIR = 'data/pglite';
let demoHints: string | undefined;

if (!process.env.ADMIN_TOKEN) {
  process.env.ADMIN_TOKEN = `dev-${randomBytes(12).toString('hex')}`;
  console.log(`ADMIN_TOKEN is not set; this run's organisation admin token is ${process.env.ADMIN_TOKEN}`);
}
const workerMetrics = installWorkerTelemetry(); // before any connection to Temporal
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
const database = await chooseDatabase();
stops.push(database.stop);
const config = loadConfig();

if (!database.embedded && (await ensureDatabase(config.databaseUrl))) {
  console.log(`created database ${new URL(config.databaseUrl).pathname.slice(1)}`);
}
const db = createDb(config.databaseUrl, database.poolSize);
stops.push(() => db.destroy());
const applied = await migrateToLatest(db);
if (applied.length) console.log(`migrations applied: ${applied.join(', ')}`);

if (process.argv.includes('--demo')) demoHints = await seedDemo(db);

const worker = await runWorker(config, db, address);
stops.push(() => worker.stop());
const api = await runApi(config, db, address);
stops.push(() => api.stop());

console.log(`
  Console      ${api.url}/console   (sign in with ADMIN_TOKEN, or an agent's token)
  API          ${api.url}   (GET /readyz, /v1/…)
  API docs     ${api.url}/docs
  Metrics      ${api.url}/metrics${workerMetrics ? ` and ${workerMetrics} (worker)` : ' (set WORKER_METRICS_ADDRESS for the worker’s)'}
  Temporal UI  ${config.temporalUiUrl ?? `(external Temporal at ${address})`}
  Temporal     ${address}, namespace ${config.temporalNamespace}, task queue ${config.taskQueue}
  Mail         ${config.smtpUrl ? maskCredentials(config.smtpUrl) : `files in ${config.mailOutboxDir}/ (set SMTP_URL to send)`}
  Database     ${database.embedded ? `embedded PostgreSQL (PGlite) in ${EMBEDDED_DIR}/` : maskCredentials(config.databaseUrl)}
Ctrl-C stops everything.`);
if (demoHints) {
  // The token itself: the reader's other terminal has no ADMIN_TOKEN of this process.
  console.log(`\n${demoHints.replaceAll('$API', api.url).replaceAll('$TOKEN', config.adminToken ?? '<ADMIN_TOKEN>')}`);
}

/**
 * DATABASE_URL, else the local server if one answers on 5432, else an embedded PostgreSQL
 * (PGlite behind a socket, so the same \`pg\` code path serves) stored under data/.
 */
async function chooseDatabase(): Promise<{ embedded: boolean; poolSize: number; stop: () => Promise<void> }> {
  const none = { embedded: false, poolSize: POOL_SIZE.worker, stop: async () => undefined };
  if (process.env.DATABASE_URL) return none;
  if (!process.env.EMBEDDED_POSTGRES && (await answers('127.0.0.1', 5432))) return none;
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  mkdirSync(EMBEDDED_DIR, { recursive: true });
  const pglite = await PGlite.create(EMBEDDED_DIR);
  const port = await freePort(5433);
  const server = new PGLiteSocketServer({ db: pglite, port, host: '127.0.0.1', maxConnections: 4 });
  await server.start();
  process.env.DATABASE_URL = `postgres://postgres@127.0.0.1:${port}/postgres`;
  console.log(
    `no DATABASE_URL and nothing on 127.0.0.1:5432: using an embedded PostgreSQL (PGlite) in ${EMBEDDED_DIR}/`,
  );
  // PGlite is one connection underneath: one pooled client keeps every transaction whole.
  return {
    embedded: true,
    poolSize: 1,
    stop: async () => {
      await server.stop();
      await pglite.close();
    },
  };
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 500 }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
