/** What a handover's workflow did, read from its Temporal history: for tests that must not guess from the clock. */
import type { Client } from '@temporalio/client';

export interface HistoryStep {
  /** `activity <type>` when an activity was scheduled, `timer started` or `timer fired`. */
  what: string;
  at: number;
}

export async function historySteps(client: Client, workflowId: string): Promise<HistoryStep[]> {
  const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
  const steps: HistoryStep[] = [];
  for (const e of events ?? []) {
    const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activity) steps.push({ what: `activity ${activity}`, at });
    if (e.timerStartedEventAttributes) steps.push({ what: 'timer started', at });
    if (e.timerFiredEventAttributes) steps.push({ what: 'timer fired', at });
  }
  return steps;
}

/** How many times the workflow has scheduled `activityType` so far. */
export async function timesScheduled(client: Client, workflowId: string, activityType: string): Promise<number> {
  return (await historySteps(client, workflowId)).filter((s) => s.what === `activity ${activityType}`).length;
}
