import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';

export interface HandoverWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  /** A prebuilt bundle (tests, production images); otherwise the workflows are bundled at start. */
  workflowBundle?: { code: string };
  interceptors?: WorkerOptions['interceptors'];
}

export function createHandoverWorker({ connection, workflowBundle, interceptors, ...deps }: HandoverWorkerOptions) {
  return Worker.create({
    connection,
    namespace: deps.config.temporalNamespace,
    taskQueue: deps.config.taskQueue,
    ...(workflowBundle
      ? { workflowBundle }
      : { workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)) }),
    activities: createActivities(deps),
    interceptors,
    // Heartbeats carry the move's progress to the API and bring a cancel to a running move: send
    // them within a second, not at the SDK's default of most of the heartbeat timeout.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '1s',
  });
}
