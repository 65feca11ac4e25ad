/**
 * Daily maintenance workflows, started by Temporal Schedules (src/worker/schedules.ts).
 * Deterministic orchestration only; the work is in src/activities/maintenance.ts.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { purgeTrash, sendIntegrityDigests } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '5 minutes', maximumAttempts: 20 },
});

/** Empties the trash of customers whose `purgeAfter` has passed. The only place a customer is deleted. */
export async function trashPurgeWorkflow(batch?: number): Promise<{ deleted: number }> {
  return purgeTrash(batch);
}

/**
 * Mails each office's admins the integrity findings of their office, once per day: the date is the
 * workflow's (deterministic) start date, so a retry or a re-run of the same day sends nothing twice.
 */
export async function integrityDigestWorkflow(date?: string): Promise<{ issues: number; sent: number }> {
  return sendIntegrityDigests(date ?? new Date().toISOString().slice(0, 10));
}
