/**
 * `--office-closure K` also measures what K handover-shaped workflows of no-op steps cost at once on
 * the same Temporal server (bench/floor-workflow.ts): with activities, as the handovers run them, and
 * with local activities (run by the worker inside its workflow task, no activity task on the server).
 * The closure can be no faster than its floor; the gap between the two floors is what local
 * activities would save.
 */
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { type FloorKind, HANDOVER_STEPS } from './floor-workflow';

export async function temporalFloor(client: Client, address: string, workflows: number, log: (line: string) => void) {
  const taskQueue = 'bench-floor';
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./floor-workflow.ts', import.meta.url)),
    logger: { error: log, warn() {}, info() {}, debug() {}, trace() {}, log() {} },
  });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle,
    activities: { step: async () => 1 },
  });
  const running = worker.run();
  const run = async (kind: FloorKind) => {
    const started = Date.now();
    await Promise.all(
      Array.from({ length: workflows }, (_, i) =>
        client.workflow.execute('floorWorkflow', { taskQueue, workflowId: `floor-${kind}-${i}`, args: [kind] }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    log(`temporal floor: ${workflows} workflows of ${HANDOVER_STEPS} no-op ${kind} at once in ${seconds.toFixed(1)} s`);
    return seconds;
  };
  try {
    return { activities: await run('activities'), localActivities: await run('local') };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}
