/**
 * Starting and reading handovers: the database row is the record (lists, idempotency, the
 * one-running-per-agent rule), the workflow is the live state (queried while it runs).
 */
import { createHash, randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Handover } from '../../db/schema';
import {
  DEFAULT_OPTIONS,
  describeSuccessor,
  type HandoverInput,
  type HandoverRequest,
  type HandoverState,
  KIND_TRAITS,
  successorIds,
} from '../../domain/handover';
import { Refusal } from '../../domain/refusal';
import { kindOf } from '../../kinds';
import { customerSlots } from '../../kinds/successors';
import { AgentIdKey, HandoverKindKey, HandoverStatusKey, OfficeIdKey } from '../../temporal/search-attributes';
import { HANDOVER_WORKFLOW, stateQuery } from '../../workflows/definitions';
import type { ApiDeps } from '../app';
import { type Actor, actorId, requireAdminOf } from '../auth';
import { conflict, forbidden, notFound, Problem, unprocessable } from '../problem';
import type { HandoverViewT } from './schemas';

const RUNNING = ['running', 'blocked'] as const;

export function refusalToProblem(err: unknown): never {
  if (err instanceof Refusal) {
    const errors = err.path ? [{ path: err.path, message: err.message }] : undefined;
    if (err.status === 422) throw unprocessable(err.message, errors);
    throw new Problem(
      err.status,
      err.status === 404 ? 'Not Found' : err.status === 409 ? 'Conflict' : 'Forbidden',
      err.message,
      errors,
    );
  }
  throw err;
}

/** The agent the request is about, with the caller's right to act on it checked first (403 whatever the ID). */
async function authorizedAgent(deps: ApiDeps, actor: Actor, agentId: string) {
  const agent = await deps.db.selectFrom('agents').selectAll().where('id', '=', agentId).executeTakeFirst();
  if (
    actor.kind !== 'org-admin' &&
    (!agent || actor.agent.role !== 'admin' || actor.agent.office_id !== agent.office_id)
  ) {
    throw forbidden(
      `you may not hand over agent ${agentId}: only the organisation administrator or an admin of its office may`,
    );
  }
  if (!agent) throw notFound(`agent ${agentId} does not exist`);
  return agent;
}

/** Validation and refusals shared by start and preview. */
async function check(deps: ApiDeps, actor: Actor, request: HandoverRequest) {
  const agent = await authorizedAgent(deps, actor, request.agentId);
  requireAdminOf(actor, agent.office_id, `agent ${agent.id}`);
  const definition = kindOf(request.kind);
  await definition.validate(deps.db, request).catch(refusalToProblem);
  return { agent, definition };
}

export async function preview(deps: ApiDeps, actor: Actor, request: HandoverRequest) {
  const { agent, definition } = await check(deps, actor, request);
  const counts = await definition.count(deps.db, request);
  const blockedBy = KIND_TRAITS[request.kind].blocksOnLeadSources ? await blockers(deps, agent.id) : [];
  const slots = await customerSlots(deps.db, request.to, counts.customers);
  const bySuccessor = Object.fromEntries(slots.filter((s) => s.agentId).map((s) => [s.agentId!, s.count]));
  return { blockedBy, counts, bySuccessor };
}

async function blockers(deps: ApiDeps, agentId: string) {
  const rows = await deps.db
    .selectFrom('lead_sources')
    .select(['key', 'name'])
    .where('default_assignee_id', '=', agentId)
    .orderBy('key')
    .execute();
  return rows.map((r) => ({ leadSourceKey: r.key, name: r.name }));
}

const requestHash = (request: HandoverRequest) => createHash('sha256').update(canonicalJson(request)).digest('hex');

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Starts a handover: 202 when new; 200 with the same handover for a repeated Idempotency-Key. */
export async function start(
  deps: ApiDeps,
  actor: Actor,
  request: HandoverRequest,
  idempotencyKey: string | undefined,
): Promise<{ status: 200 | 202; handover: HandoverViewT }> {
  const hash = requestHash(request);
  const replay = idempotencyKey ? await byIdempotencyKey(deps, idempotencyKey, hash) : undefined;
  if (replay) return { status: 200, handover: await view(deps, replay) };

  const { agent } = await check(deps, actor, request);
  const id = `handover-${randomUUID()}`;
  try {
    await deps.db
      .insertInto('handovers')
      .values({
        id,
        kind: request.kind,
        agent_id: agent.id,
        office_id: agent.office_id,
        request: JSON.stringify(request),
        idempotency_key: idempotencyKey ?? null,
        request_hash: hash,
        started_by: actorId(actor),
        status: 'running',
        phase: 'validating',
      })
      .execute();
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    // Two requests raced: the same key answers the winner; otherwise the agent is busy.
    const raced = idempotencyKey ? await byIdempotencyKey(deps, idempotencyKey, hash) : undefined;
    if (raced) return { status: 200, handover: await view(deps, raced) };
    const running = await deps.db
      .selectFrom('handovers')
      .select('id')
      .where('agent_id', '=', agent.id)
      .where('status', 'in', RUNNING)
      .executeTakeFirst();
    throw conflict(`agent ${agent.id} already has a running handover: ${running?.id ?? 'unknown'}`);
  }
  const row = await deps.db.selectFrom('handovers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  await ensureStarted(deps, row);
  return { status: 202, handover: await view(deps, row) };
}

async function byIdempotencyKey(deps: ApiDeps, key: string, hash: string): Promise<Handover | undefined> {
  const row = await deps.db.selectFrom('handovers').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  if (!row) return undefined;
  if (row.request_hash !== hash) {
    throw unprocessable(`Idempotency-Key ${key} was used for a different request (handover ${row.id}); use a new key`);
  }
  // The first attempt may have died between its insert and the workflow start: start it now.
  await ensureStarted(deps, row);
  return row;
}

/** Starts the workflow of `row`; a workflow already started under this ID is kept (USE_EXISTING). */
async function ensureStarted(deps: ApiDeps, row: Handover): Promise<void> {
  const request = row.request as HandoverRequest;
  const names = await agentNames(deps, [request.agentId, ...successorIds(request.to)]);
  const input: HandoverInput = {
    handoverId: row.id,
    kind: row.kind,
    agentId: request.agentId,
    officeId: row.office_id,
    options: { ...DEFAULT_OPTIONS, ...request.options },
  };
  const verb = KIND_TRAITS[row.kind].verb;
  await deps.temporal.workflow.start(HANDOVER_WORKFLOW, {
    workflowId: row.id,
    taskQueue: deps.config.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: HandoverKindKey, value: row.kind },
      { key: AgentIdKey, value: request.agentId },
      { key: OfficeIdKey, value: row.office_id },
      { key: HandoverStatusKey, value: 'running' },
    ],
    staticSummary: `${verb} ${names.get(request.agentId) ?? request.agentId} → ${describeSuccessor(request.to, names)}`,
    staticDetails: `Started by ${row.started_by}${'reason' in request && request.reason ? `: ${request.reason}` : ''}`,
    memo: { startedBy: row.started_by, reason: ('reason' in request && request.reason) || null },
  });
}

async function agentNames(deps: ApiDeps, ids: string[]) {
  const rows = await deps.db.selectFrom('agents').select(['id', 'name']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** The row for a caller allowed to see it: the org admin or an admin of the handover's office. */
export async function loadForAdmin(deps: ApiDeps, actor: Actor, id: string): Promise<Handover> {
  const row = await deps.db.selectFrom('handovers').selectAll().where('id', '=', id).executeTakeFirst();
  if (actor.kind !== 'org-admin' && (!row || actor.agent.role !== 'admin' || actor.agent.office_id !== row.office_id)) {
    throw forbidden(`you may not see or act on handover ${id}`);
  }
  if (!row) throw notFound(`handover ${id} does not exist`);
  return row;
}

/** The API's Handover: live state from the workflow while it runs, the settled row afterwards. */
export async function view(deps: ApiDeps, row: Handover, live = true): Promise<HandoverViewT> {
  let state: HandoverState = {
    status: row.status,
    phase: row.phase,
    blockedBy: [],
    progress: { planned: 0, moved: 0, reverted: 0 },
  };
  if (live && RUNNING.includes(row.status as (typeof RUNNING)[number])) {
    state = (await liveState(deps, row.id)) ?? state;
  } else if (row.summary) {
    const s = row.summary;
    const moved = s.customers + s.records + s.callbacks;
    state.progress = { planned: moved, moved, reverted: 0 };
  }
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
    createdAt: row.created_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    links: {
      self: `/v1/handovers/${row.id}`,
      temporalUi: ui ? `${ui}/namespaces/${deps.config.temporalNamespace}/workflows/${row.id}` : '',
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
