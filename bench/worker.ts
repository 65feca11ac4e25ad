/** The real worker in a process of its own, so the bench can read its peak memory (VmHWM). */
import { loadConfig, POOL_SIZE } from '../src/config';
import { createDb } from '../src/db/connect';
import { runWorker, stopOnSignals } from '../src/services';

const config = loadConfig();
const db = createDb(config.databaseUrl, POOL_SIZE.worker);
const worker = await runWorker(config, db, config.temporalAddress ?? '127.0.0.1:7233');
stopOnSignals([() => db.destroy(), () => worker.stop()]);
process.send?.('ready');
