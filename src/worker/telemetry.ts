/**
 * The worker's metrics for an operator to scrape: the Temporal SDK's own (task slots, poll and
 * activity latencies, workflow outcomes) and the service's (entities moved), on one Prometheus
 * endpoint. Switched on by WORKER_METRICS_ADDRESS (`host:port`); must run before any connection.
 */
import { Runtime } from '@temporalio/worker';

export function installWorkerTelemetry(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const address = env.WORKER_METRICS_ADDRESS;
  if (!address) return undefined;
  Runtime.install({
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: address, countersTotalSuffix: true, useSecondsForDurations: true } },
    },
  });
  return `http://${address}/metrics`;
}
