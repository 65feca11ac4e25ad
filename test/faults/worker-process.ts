/**
 * A handover worker in a process of its own, built as src/services.ts runWorker builds it (config
 * from the environment, the prebuilt bundle from WORKFLOW_BUNDLE_PATH), so a fault test can SIGKILL it.
 * Tells its parent `{ ready: true }` once it polls.
 */

import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { createDb } from '../../src/db/connect';
import { runWorker } from '../../src/services';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const config = loadConfig();
const db = createDb(config.databaseUrl, 10);
const worker = await runWorker(config, db, config.temporalAddress ?? '127.0.0.1:7233');
process.send?.({ ready: true });
process.once('SIGTERM', () => {
  void worker
    .stop()
    .then(() => db.destroy())
    .finally(() => process.exit(0));
});
