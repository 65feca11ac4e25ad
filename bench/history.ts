/** What the bench reads from workflow histories: their length, and where a handover's time went. */
import type { Client } from '@temporalio/client';
import { round } from './measure';

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

/** An event's time in seconds. */
const at = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;

/** Events of the closed workflow: the row settles before the last mail, so wait for the run's end. */
export async function historyLength(client: Client, id: string) {
  const handle = client.workflow.getHandle(id);
  await handle.result();
  return (await handle.fetchHistory()).events?.length ?? 0;
}

/** Seconds spent in each activity, from the workflow history (scheduled → completed). */
export async function stepTimes(client: Client, id: string) {
  const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const scheduled = new Map<number, { name: string; at: number }>();
  const times: Record<string, number> = {};
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(Number(e.eventId), { name: s.activityType?.name ?? '?', at: at(e) });
    const done = e.activityTaskCompletedEventAttributes;
    const from = done && scheduled.get(Number(done.scheduledEventId));
    if (from) times[from.name] = round((times[from.name] ?? 0) + at(e) - from.at);
  }
  return times;
}

/**
 * Seconds summed over the handovers' activities: waiting for a worker slot (scheduled → started)
 * and running (started → completed), and the whole workflow's span, averaged per handover.
 */
export async function timeSplit(client: Client, ids: string[]) {
  let queued = 0;
  let running = 0;
  let span = 0;
  const byType: Record<string, number> = {};
  for (const id of ids) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const byId = new Map(events.map((e) => [Number(e.eventId), at(e)]));
    const names = new Map(
      events.flatMap((e) => {
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        return type ? [[Number(e.eventId), type] as const] : [];
      }),
    );
    for (const e of events) {
      const s = e.activityTaskStartedEventAttributes;
      if (s) queued += at(e) - (byId.get(Number(s.scheduledEventId)) ?? at(e));
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const took = at(e) - (byId.get(Number(c.startedEventId)) ?? at(e));
        running += took;
        const type = names.get(Number(c.scheduledEventId)) ?? '?';
        byType[type] = (byType[type] ?? 0) + took;
      }
    }
    span += at(events[events.length - 1]!) - at(events[0]!);
  }
  const n = ids.length || 1;
  const runningByActivityS = Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, round(v / n)]));
  return {
    activityQueuedS: round(queued / n),
    activityRunningS: round(running / n),
    workflowSpanS: round(span / n),
    runningByActivityS,
  };
}
