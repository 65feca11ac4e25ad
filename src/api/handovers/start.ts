/**
 * Starting and previewing handovers. The database row is the record (lists, idempotency, the
 * one-running-per-agent rule); the workflow, started with the row's id, does the work.
 */
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { sql } from 'kysely';
import type { Handover } from '../../db/schema';
import {
  DEFAULT_OPTIONS,
  describeSuccessor,
  type HandoverInput,
  type HandoverRequest,
  KIND_TRAITS,
  subjectAgentId,
  successorIds,
  successorOf,
} from '../../domain/handover';
import { Refusal } from '../../domain/refusal';
import { countHandover, kindOf, type Scope } from '../../kinds';
import { AgentIdKey, HandoverKindKey, HandoverStatusKey, OfficeIdKey } from '../../temporal/search-attributes';
import { HANDOVER_WORKFLOW } from '../../workflows/definitions';
import type { ApiDeps } from '../app';
import { type Actor, actorId, isAdminOf, refuseSelf, requireAdminOf } from '../auth';
import { endRunningCovers } from '../integrations/pool';
import { conflict, forbidden, notFound, Problem, unprocessable } from '../problem';
import type { HandoverViewT } from './schemas';
import { isRunning, RUNNING, view } from './view';

export function refusalToProblem(err: unknown): never {
  if (err instanceof Refusal) {
    const errors = err.path ? [{ path: err.path, message: err.message }] : undefined;
    if (err.status === 422) throw unprocessable(err.message, errors);
    const title = err.status === 404 ? 'Not Found' : err.status === 409 ? 'Conflict' : 'Forbidden';
    throw new Problem(err.status, title, err.message, errors);
  }
  throw err;
}

/**
 * 403 before anything else, whatever the IDs: only the org admin or an admin of the office the
 * request is about may start it (for a list of customers: of every office they belong to).
 */
async function authorize(deps: ApiDeps, actor: Actor, request: HandoverRequest): Promise<void> {
  const agentId = subjectAgentId(request);
  refuseSelf(actor, agentId, 'start a handover of');
  let offices: string[];
  if (agentId) {
    const agent = await deps.db.selectFrom('agents').select('office_id').where('id', '=', agentId).executeTakeFirst();
    if (!agent && actor.kind === 'org-admin') throw notFound(`agent ${agentId} does not exist`);
    offices = agent ? [agent.office_id] : [];
  } else {
    const ids = request.kind === 'reassign-customers' && 'customerIds' in request.from ? request.from.customerIds : [];
    const { rows } = await sql<{ office_id: string }>`
      select distinct office_id from customers where id = any(${ids}::text[])`.execute(deps.db);
    offices = rows.map((r) => r.office_id);
    if (actor.kind === 'org-admin') return;
  }
  if (offices.length === 0 || offices.some((office) => !isAdminOf(actor, office))) {
    throw forbidden(
      agentId
        ? `you may not hand over agent ${agentId}: only the organisation administrator or an admin of its office may`
        : 'some of these customers belong to an office you do not administer; nothing was moved',
    );
  }
}

/** Validation and refusals shared by start and preview. */
async function check(deps: ApiDeps, actor: Actor, request: HandoverRequest): Promise<Scope> {
  const agentId = subjectAgentId(request);
  // Before the kind's own checks, which see only the agent's `leaving` status: the 409 names the running handover.
  const running = agentId ? await runningHandoverOf(deps, agentId) : undefined;
  if (running) throw conflict(`agent ${agentId} already has a running handover: ${running.id}`);
  const scope = await kindOf(request.kind).validate(deps.db, request).catch(refusalToProblem);
  requireAdminOf(actor, scope.officeId, scope.agent ? `agent ${scope.agent.id}` : 'these customers');
  return scope;
}

/**
 * What the handover would move now: the kind's steps counted with aggregate queries (the plan writes
 * the same steps into the ledger), so a preview writes nothing and costs a few COUNTs at any size.
 */
export async function preview(deps: ApiDeps, actor: Actor, request: HandoverRequest) {
  await authorize(deps, actor, request);
  const scope = await check(deps, actor, request);
  const { bySuccessor, ...counts } = await countHandover(deps.db, request, scope.officeId).catch(refusalToProblem);
  const blockedBy =
    KIND_TRAITS[request.kind].blocksOnLeadSources && scope.agent ? await blockers(deps, scope.agent.id) : [];
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

function newRow(id: string, request: HandoverRequest, scope: Scope, actor: Actor, idempotencyKey: string | undefined) {
  return {
    id,
    kind: request.kind,
    agent_id: scope.agent?.id ?? null,
    office_id: scope.officeId,
    request: JSON.stringify(request),
    idempotency_key: idempotencyKey ?? null,
    request_hash: requestHash(request),
    started_by: actorId(actor),
    status: 'running' as const,
    phase: 'validating' as const,
  };
}

/**
 * The stored form of a caller's Idempotency-Key: scoped to the caller, so the same key from two
 * callers names two requests, and prefixed so that no API key can ever be one that HR events
 * (`hr:`) or SCIM (`scim:`) use.
 */
export const callerKey = (actor: Actor, key: string) => `api:${actorId(actor)}:${key}`;

/** Starts a handover: 202 when new; 200 with the same handover for a repeated Idempotency-Key. */
export async function start(
  deps: ApiDeps,
  actor: Actor,
  request: HandoverRequest,
  idempotencyKey: string | undefined,
): Promise<{ status: 200 | 202; handover: HandoverViewT }> {
  const hash = requestHash(request);
  // A key never answers a handover to someone who may not start it.
  await authorize(deps, actor, request);
  const replay = idempotencyKey ? await byIdempotencyKey(deps, actor, idempotencyKey, hash) : undefined;
  if (replay) return { status: 200, handover: await view(deps, replay) };
  // A running cover does not block an offboard of its agent: the cover ends first (its callbacks go back).
  if (request.kind === 'offboard') await endRunningCovers(deps.db, deps.temporal, request.agentId);

  let scope: Scope;
  try {
    scope = await check(deps, actor, request);
  } catch (err) {
    // A concurrent request with the same key may have started it since we looked (its agent now
    // has a running handover, or is `leaving`): the key answers that handover, not a refusal.
    const raced =
      idempotencyKey && err instanceof Problem ? await byIdempotencyKey(deps, actor, idempotencyKey, hash) : undefined;
    if (raced) return { status: 200, handover: await view(deps, raced) };
    throw err;
  }
  const id = `handover-${randomUUID()}`;
  let row: Handover;
  try {
    row = await deps.db
      .insertInto('handovers')
      .values(newRow(id, request, scope, actor, idempotencyKey))
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    // Two requests raced: the same key answers the winner; otherwise the agent is busy.
    const raced = idempotencyKey ? await byIdempotencyKey(deps, actor, idempotencyKey, hash) : undefined;
    if (raced) return { status: 200, handover: await view(deps, raced) };
    const running = scope.agent ? await runningHandoverOf(deps, scope.agent.id) : undefined;
    throw conflict(`agent ${scope.agent?.id} already has a running handover: ${running?.id ?? 'unknown'}`);
  }
  await ensureStarted(deps, row);
  // Just started: the row says all there is; asking the workflow would wait on a busy worker.
  return { status: 202, handover: await view(deps, row, false) };
}

function runningHandoverOf(deps: ApiDeps, agentId: string) {
  return deps.db
    .selectFrom('handovers')
    .select('id')
    .where('agent_id', '=', agentId)
    .where('status', 'in', RUNNING)
    .executeTakeFirst();
}

async function byIdempotencyKey(deps: ApiDeps, actor: Actor, key: string, hash: string): Promise<Handover | undefined> {
  const row = await deps.db.selectFrom('handovers').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  if (!row) return undefined;
  if (row.request_hash !== hash) {
    const which = isAdminOf(actor, row.office_id) ? ` (handover ${row.id})` : '';
    throw unprocessable(`this Idempotency-Key was used for a different request${which}; use a new key`);
  }
  // The first attempt may have died between its insert and the workflow start: start it now.
  if (isRunning(row.status)) await ensureStarted(deps, row);
  return row;
}

/**
 * Starts the workflow of `row`; a workflow already started under this ID is kept (USE_EXISTING),
 * and one that has ended is never started again (REJECT_DUPLICATE): a second run would re-validate
 * a finished handover, fail, and its compensation would reactivate an offboarded agent.
 */
async function ensureStarted(deps: ApiDeps, row: Handover): Promise<void> {
  const request = row.request as HandoverRequest;
  const input: HandoverInput = {
    handoverId: row.id,
    kind: row.kind,
    agentId: row.agent_id,
    officeId: row.office_id,
    options: { ...DEFAULT_OPTIONS, ...request.options },
    cover: request.kind === 'reassign-callbacks' && request.until !== undefined,
    ...(request.effectiveAt ? { effectiveAt: request.effectiveAt } : {}),
  };
  const attributes = [
    { key: HandoverKindKey, value: row.kind },
    { key: OfficeIdKey, value: row.office_id },
    { key: HandoverStatusKey, value: 'running' },
    ...(row.agent_id ? [{ key: AgentIdKey, value: row.agent_id }] : []),
  ];
  await deps.temporal.workflow
    .start(HANDOVER_WORKFLOW, {
      workflowId: row.id,
      taskQueue: deps.config.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: attributes,
      staticSummary: await summaryLine(deps, row, request),
      staticDetails: `Started by ${row.started_by}${request.reason ? `: ${request.reason}` : ''}`,
      memo: { startedBy: row.started_by, reason: request.reason ?? null },
    })
    .catch((err) => {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    });
}

/** "Offboard Xavier Sato → Yuki Ito": what the Temporal UI lists the workflow as. */
async function summaryLine(deps: ApiDeps, row: Handover, request: HandoverRequest): Promise<string> {
  const to = successorOf(request);
  const ids = [row.agent_id, ...(to ? successorIds(to) : [])].filter((id): id is string => id !== null);
  const rows = ids.length
    ? await deps.db.selectFrom('agents').select(['id', 'name']).where('id', 'in', ids).execute()
    : [];
  const names = new Map(rows.map((r) => [r.id, r.name]));
  const listed = request.kind === 'reassign-customers' && 'customerIds' in request.from ? request.from.customerIds : [];
  const who = row.agent_id !== null ? (names.get(row.agent_id) ?? row.agent_id) : `${listed.length} customers`;
  let target = to ? describeSuccessor(to, names) : '';
  if (request.kind === 'transfer') {
    const office = await deps.db
      .selectFrom('offices')
      .select('name')
      .where('id', '=', request.toOfficeId)
      .executeTakeFirst();
    target = `${office?.name ?? request.toOfficeId}${to ? `, customers to ${target}` : ' with customers'}`;
  }
  if (request.kind === 'reassign-callbacks' && request.until) target += ` until ${request.until}`;
  return `${KIND_TRAITS[row.kind].verb} ${who} → ${target}`;
}
