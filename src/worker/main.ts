/** `npm run worker`: the worker alone, against TEMPORAL_ADDRESS (default localhost:7233). */
import { loadConfig, POOL_SIZE } from '../config';
import { createDb } from '../db/connect';
import { migrateToLatest } from '../db/migrate';
import { runWorker, stopOnSignals } from '../services';
import { installWorkerTelemetry } from './telemetry';

const metricsUrl = installWorkerTelemetry();

const config = loadConfig();
const db = createDb(config.databaseUrl, POOL_SIZE.worker);
await migrateToLatest(db);
const worker = await runWorker(config, db, config.temporalAddress ?? '127.0.0.1:7233');
stopOnSignals([() => db.destroy(), () => worker.stop()]);
console.log(`worker polling task queue ${config.taskQueue} on ${config.temporalAddress ?? '127.0.0.1:7233'}`);
if (metricsUrl) console.log(`worker metrics: ${metricsUrl}`);
