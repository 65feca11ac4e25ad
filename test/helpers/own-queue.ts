/**
 * A task queue of a test's own beside a handover environment (test/helpers/handover-env.ts), with
 * an API that starts handovers there and a worker only when the test starts one: used by
 * test/integration/contract-clauses-api.test.ts (H21, a step held before the first task runs) and
 * contract-clauses-mail-config.test.ts (N12, mail to .eml files instead of the environment's SMTP server).
 */
import type { WorkerOptions } from '@temporalio/worker';
import { type Config, loadConfig } from '../../src/config';
import { createMailer } from '../../src/mail/transport';
import { createHandoverWorker } from '../../src/worker/worker';
import { buildTestApi, type TestApi } from './api';
import type { HandoverEnv } from './handover-env';
import { uniqueTaskQueue, workflowBundle } from './temporal';

export interface OwnQueue {
  api: TestApi;
  config: Config;
  /** Starts a worker on the queue, its mailer chosen from the config as src/services.ts runWorker chooses it. */
  startWorker(interceptors?: WorkerOptions['interceptors']): Promise<void>;
}

/**
 * A task queue of the test's own, with an API that starts handovers there and no worker until the
 * test starts one: so a step can be held before the workflow's first task runs, or mail can go
 * elsewhere than the environment's SMTP server. (runWorker itself would also create maintenance
 * schedules on the shared dev server.) Its API and worker are stopped by `cleanups` (the test file
 * runs them after its tests, last added first, before the environment closes).
 */
export async function ownQueue(
  env: HandoverEnv,
  cleanups: Array<() => Promise<void>>,
  label: string,
  settings: Record<string, string | undefined> = {},
): Promise<OwnQueue> {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    ...env.env,
    TEMPORAL_TASK_QUEUE: uniqueTaskQueue(label),
    ...settings,
  })) {
    if (value !== undefined) merged[name] = value;
  }
  const config = loadConfig(merged);
  const api = await buildTestApi(env.db, env.temporal.client, merged);
  cleanups.unshift(() => api.app.close());
  return {
    api,
    config,
    async startWorker(interceptors) {
      const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: config.mailOutboxDir });
      const worker = await createHandoverWorker({
        connection: env.temporal.nativeConnection,
        db: env.db,
        mailer,
        config,
        workflowBundle: await workflowBundle(),
        interceptors,
      });
      const running = worker.run();
      cleanups.unshift(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        mailer.close();
      });
    },
  };
}
