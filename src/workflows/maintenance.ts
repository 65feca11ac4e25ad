/**
 * Daily maintenance workflows, started by Temporal Schedules (src/worker/schedules.ts).
 * Deterministic orchestration only; the work is in src/activities/maintenance.ts.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { healHandoverWorkflow } from './heal';

const { purgeTrash, pruneLedger, sendIntegrityDigests, findStuckHandovers } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '5 minutes', maximumAttempts: 20 },
});

/** Handovers healed per run at most: a bounded history; the rest are healed the next day. */
const HEALS_PER_RUN = 100;

/**
 * Empties the trash of customers whose `purgeAfter` has passed (the only place a customer is
 * deleted), then removes the ledger rows of handovers finished more than LEDGER_RETENTION_DAYS ago.
 */
export async function trashPurgeWorkflow(batch?: number): Promise<{ deleted: number; ledgerRowsDeleted?: number }> {
  const purged = await purgeTrash(batch);
  // A run in flight when this was deployed replays without the new step.
  if (!patched('ledger-retention')) return purged;
  const pruned = await pruneLedger(batch);
  return { ...purged, ledgerRowsDeleted: pruned.deleted };
}

/**
 * Heals the handovers recorded as running whose workflow is closed or missing (invariant 10),
 * then mails each office's admins the integrity findings of their office, once per day: the date
 * is the workflow's (deterministic) start date, so a retry or a re-run of the same day sends
 * nothing twice.
 */
export async function integrityDigestWorkflow(
  date?: string,
): Promise<{ issues: number; sent: number; healed: string[] }> {
  const stuck = await findStuckHandovers(HEALS_PER_RUN);
  const heals = [];
  for (const s of stuck) {
    try {
      const child = await startChild(healHandoverWorkflow, {
        workflowId: `heal:${s.handoverId}`,
        args: [s.handoverId, s.why],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      heals.push(child.result().then(() => s.handoverId));
    } catch (err) {
      // A heal of it already runs (yesterday's, still reverting a large book): leave it to finish.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  // The digest tells what is still wrong after the heals: a heal that failed leaves its finding.
  const healed = (await Promise.allSettled(heals)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const digest = await sendIntegrityDigests(date ?? new Date().toISOString().slice(0, 10));
  return { ...digest, healed };
}
