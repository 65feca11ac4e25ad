/** Reading handovers: the settled row, or the workflow's live state while it runs. */
import { defaultPayloadConverter } from '@temporalio/common';
import type { Handover } from '../../db/schema';
import type { HandoverState } from '../../domain/handover';
import { stateQuery } from '../../workflows/definitions';
import type { ApiDeps } from '../app';
import { type Actor, isAdminOf, refuseSelf } from '../auth';
import { forbidden, notFound } from '../problem';
import type { HandoverViewT } from './schemas';

export const RUNNING = ['running', 'blocked'] as const;
export const isRunning = (status: string) => RUNNING.includes(status as (typeof RUNNING)[number]);

/**
 * The row for a caller allowed to see it: the org admin, an admin of the office it started in, or
 * an admin of the office its agent belongs to now (a finished transfer is seen from both).
 */
export async function loadForAdmin(deps: ApiDeps, actor: Actor, id: string): Promise<Handover> {
  const row = await deps.db.selectFrom('handovers').selectAll().where('id', '=', id).executeTakeFirst();
  if (actor.kind === 'org-admin') {
    if (!row) throw notFound(`handover ${id} does not exist`);
    return row;
  }
  const office = row ? await currentOffice(deps, row) : undefined;
  if (!row || !(isAdminOf(actor, row.office_id) || (office !== undefined && isAdminOf(actor, office)))) {
    throw forbidden(`you may not see or act on handover ${id}`);
  }
  return row;
}

/**
 * The row for a caller allowed to cancel or recheck it: the org admin or an admin of the office
 * the handover's agent belongs to now (not when it started), and never the agent itself.
 */
export async function loadForAction(deps: ApiDeps, actor: Actor, id: string, action: string): Promise<Handover> {
  const row = await deps.db.selectFrom('handovers').selectAll().where('id', '=', id).executeTakeFirst();
  if (actor.kind === 'org-admin') {
    if (!row) throw notFound(`handover ${id} does not exist`);
    return row;
  }
  if (!row || !isAdminOf(actor, await currentOffice(deps, row))) {
    throw forbidden(
      `you may not ${action} handover ${id}: only the organisation administrator or an admin of its agent's office may`,
    );
  }
  refuseSelf(actor, row.agent_id, `${action} a handover of`);
  return row;
}

/** The office of the handover's agent now; the handover's own office when it names customers, not an agent. */
async function currentOffice(deps: ApiDeps, row: Handover): Promise<string> {
  if (row.agent_id === null) return row.office_id;
  const agent = await deps.db
    .selectFrom('agents')
    .select('office_id')
    .where('id', '=', row.agent_id)
    .executeTakeFirst();
  return agent?.office_id ?? row.office_id;
}

/** The API's Handover: live state from the workflow while it runs, the settled row afterwards. */
export async function view(deps: ApiDeps, row: Handover, live = true): Promise<HandoverViewT> {
  let state: HandoverState = {
    status: row.status,
    phase: row.phase,
    blockedBy: [],
    progress: { planned: 0, moved: 0, reverted: 0 },
  };
  if (live && isRunning(row.status)) {
    const current = await liveState(deps, row.id);
    if (current && !isRunning(current.status)) {
      // It settled after we read the row (the workflow writes the row before it says so): the row has the summary now.
      row = await deps.db.selectFrom('handovers').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    }
    state = current ?? state;
  } else if (row.summary) {
    // What the ledger said when it settled (reverted included); rows settled before that was kept, from the summary.
    const s = row.summary;
    const moved = s.customers + s.records + s.callbacks;
    state.progress = s.progress ?? { planned: moved, moved, reverted: 0 };
  }
  const undelivered = await deps.db
    .selectFrom('notification_outbox')
    .select(['recipient_id', 'kind', 'last_error'])
    .where('handover_id', '=', row.id)
    .where('status', '=', 'failed')
    .orderBy('key')
    .execute();
  const ui = deps.config.temporalUiUrl;
  return {
    id: row.id,
    kind: row.kind,
    agentId: row.agent_id,
    status: state.status,
    phase: state.phase,
    blockedBy: state.blockedBy,
    progress: state.progress,
    summary: row.summary,
    error: row.error,
    undeliveredMails: undelivered.map((m) => ({ recipientId: m.recipient_id, kind: m.kind, error: m.last_error })),
    createdAt: row.created_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    // No link rather than an empty one when the Web UI's address is unknown.
    links: {
      self: `/v1/handovers/${row.id}`,
      ...(ui ? { temporalUi: `${ui}/namespaces/${deps.config.temporalNamespace}/workflows/${row.id}` } : {}),
    },
  };
}

async function liveState(deps: ApiDeps, id: string): Promise<HandoverState | undefined> {
  const handle = deps.temporal.workflow.getHandle(id);
  try {
    const [state, description] = await Promise.all([handle.query(stateQuery), handle.describe()]);
    // While the move activity runs, its heartbeat carries how far it got.
    for (const activity of description.raw.pendingActivities ?? []) {
      const payload = activity.heartbeatDetails?.payloads?.[0];
      if (!payload) continue;
      const details = defaultPayloadConverter.fromPayload<{ changed?: number }>(payload);
      if (activity.activityType?.name === 'move')
        state.progress.moved = Math.max(state.progress.moved, details.changed ?? 0);
      if (activity.activityType?.name === 'revert')
        state.progress.reverted = Math.max(state.progress.reverted, details.changed ?? 0);
    }
    return state;
  } catch {
    return undefined; // no worker to answer the query right now: the row is the best we know
  }
}
