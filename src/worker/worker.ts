import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';
import { type Tracing, WORKFLOW_INTERCEPTOR_MODULES, workerTracing } from '../tracing';

export interface HandoverWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  /** A prebuilt bundle (tests, production images); otherwise the workflows are bundled at start. */
  workflowBundle?: { code: string };
  interceptors?: WorkerOptions['interceptors'];
  /** OpenTelemetry (src/tracing.ts), when the environment switches it on. */
  tracing?: Tracing;
}

export function createHandoverWorker({
  connection,
  workflowBundle,
  interceptors,
  tracing,
  ...deps
}: HandoverWorkerOptions) {
  const traced = workerTracing(tracing);
  return Worker.create({
    connection,
    namespace: deps.config.temporalNamespace,
    taskQueue: deps.config.taskQueue,
    ...(workflowBundle
      ? { workflowBundle }
      : { workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)) }),
    activities: createActivities(deps),
    interceptors: {
      ...interceptors,
      activity: [...traced.activity, ...(interceptors?.activity ?? [])],
      // In a prebuilt bundle already (bundled with WORKFLOW_INTERCEPTOR_MODULES).
      ...(workflowBundle ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
    sinks: traced.sinks,
    // Heartbeats carry the move's progress to the API and bring a cancel to a running move: send
    // them within a second, not at the SDK's default of most of the heartbeat timeout.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '1s',
  });
}
