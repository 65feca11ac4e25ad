/**
 * The activities as workflows call them: one set of timeouts and retries for every saga and for the
 * integrity sweep's heal, so a step behaves the same wherever it runs.
 */
import { ActivityCancellationType, type ActivityOptions, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

// The steps heartbeat every few seconds while they run: a worker that dies mid-step is noticed within the heartbeat timeout.
const stepOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['Refusal', 'MissingHandover'] },
};
export const tryCancelSteps = proxyActivities<Activities>(stepOptions);
// Saga rule: a compensation sees the effects of the step it undoes. A cancel waits for a step in
// flight (e.g. `validate` waiting on a lock) to end, so `releaseAgent` runs after `validate` committed.
export const waitingSteps = proxyActivities<Activities>({
  ...stepOptions,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
// Moving and reverting are long loops: a heartbeat every batch lets a crashed worker be noticed
// quickly and the next attempt resume from the cursor; cancel waits until the batch in flight ends.
export const ledger = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});
export const mail = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 8 },
});

/** Runs an activity with a readable line of its own in the Temporal Web UI. */
export function titled<A extends unknown[], R>(
  activity: { executeWithOptions(options: ActivityOptions, args: A): Promise<R> },
  summary: string,
  ...args: A
): Promise<R> {
  return activity.executeWithOptions({ summary }, args);
}

export function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  // Activity failures wrap the real reason in `cause`.
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
