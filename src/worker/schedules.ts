/**
 * The daily Temporal Schedules: the trash purge and the integrity digest. Created when the worker
 * starts; an existing schedule is left as it is (an operator may have paused or changed it in the UI).
 */
import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Config } from '../config';

export interface MaintenanceSchedule {
  scheduleId: string;
  workflowType: 'trashPurgeWorkflow' | 'integrityDigestWorkflow';
  /** UTC hour of the daily run. */
  hour: number;
  note: string;
}

/** Schedule IDs carry the task queue, so deployments (and test runs) sharing a namespace stay apart. */
export function maintenanceSchedules(taskQueue: string): MaintenanceSchedule[] {
  return [
    {
      scheduleId: `trash-purge:${taskQueue}`,
      workflowType: 'trashPurgeWorkflow',
      hour: 3,
      note: 'Daily: deletes customers whose purgeAfter has passed (the only customer deletion), then the ledger rows of handovers finished more than LEDGER_RETENTION_DAYS ago.',
    },
    {
      scheduleId: `integrity-digest:${taskQueue}`,
      workflowType: 'integrityDigestWorkflow',
      hour: 6,
      note: 'Daily: mails each office’s admins the integrity findings of their office.',
    },
  ];
}

/** Creates the schedules that do not exist yet; returns which were created. Safe to call at every start. */
export async function ensureSchedules(
  client: Client,
  config: Pick<Config, 'taskQueue'>,
): Promise<{ created: string[]; existing: string[] }> {
  const created: string[] = [];
  const existing: string[] = [];
  for (const s of maintenanceSchedules(config.taskQueue)) {
    try {
      await client.schedule.create({
        scheduleId: s.scheduleId,
        spec: { calendars: [{ hour: s.hour, minute: 0 }] },
        action: {
          type: 'startWorkflow',
          workflowType: s.workflowType,
          taskQueue: config.taskQueue,
          workflowId: `${s.scheduleId}:run`,
          args: [],
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
        state: { note: s.note },
      });
      created.push(s.scheduleId);
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      existing.push(s.scheduleId);
    }
  }
  return { created, existing };
}
