/**
 * The saga's steps as activities. Each is one idempotent unit of I/O, safe to run twice;
 * kind-specific work is delegated to src/kinds. Heavy loops heartbeat a resume cursor.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Handover, HandoverPhase, HandoverStatus, HandoverSummaryJson } from '../db/schema';
import type { BlockingLeadSource, HandoverRequest } from '../domain/handover';
import { KIND_TRAITS, successorOf } from '../domain/handover';
import { Refusal } from '../domain/refusal';
import { kindOf, planHandover } from '../kinds';
import { currentSuccessors } from '../kinds/successors';
import {
  type Batch,
  type BatchResult,
  CONFLICT_AFTER_MOVE,
  CONFLICT_AGENT_GONE,
  type Direction,
  firstRange,
  type Group,
  type Lane,
  ledgerGroups,
  ledgerLeft,
  runBatch,
  type SeqRange,
} from './ledger';

export interface Outcome {
  status: Extract<HandoverStatus, 'completed' | 'cancelled' | 'compensated' | 'failed'>;
  error?: string;
}

/** A refusal cannot be helped by retrying: it fails the step for good (the saga then compensates). */
function refusalIsFinal(err: unknown): never {
  if (err instanceof Refusal) throw ApplicationFailure.nonRetryable(err.message, 'Refusal');
  throw err;
}

export function handoverStepActivities(db: Db, batchSize: number, lanes: number) {
  async function load(handoverId: string, phase?: HandoverPhase): Promise<Handover & { request: HandoverRequest }> {
    if (phase) {
      await db.updateTable('handovers').set({ phase, updated_at: new Date() }).where('id', '=', handoverId).execute();
    }
    const handover = await db.selectFrom('handovers').selectAll().where('id', '=', handoverId).executeTakeFirst();
    if (!handover)
      throw ApplicationFailure.nonRetryable(`handover ${handoverId} has no row in the database`, 'MissingHandover');
    return handover as Handover & { request: HandoverRequest };
  }

  /**
   * Runs the ledger in one direction, group by group, each group's batches in `lanes` side by side
   * (see Lane). Ends only when nothing is left to do, so a batch a stuck earlier attempt held is
   * picked up too; after a crash it starts over, the done rows are skipped. A lane that fails stops
   * the others after their current batch.
   */
  async function runLedger(handoverId: string, direction: Direction): Promise<number> {
    const ctx = Context.current();
    const actor = (await load(handoverId)).started_by;
    // On the worker's metrics endpoint (src/worker/telemetry.ts): what operators watch a big move by.
    const entities = ctx.metricMeter.createCounter(
      'handover_entities_changed',
      'entities',
      'Entities moved (direction apply) or put back (revert) by handovers',
    );
    let changed = 0;
    let stop = false;
    async function runLane(group: Group, lane: Lane): Promise<void> {
      const span = batchSize * lanes; // about batchSize rows for each lane where the group is dense
      let range: SeqRange | undefined = firstRange(group, direction, span);
      while (range && !stop) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`${direction} of ${handoverId} cancelled`);
        const batch: Batch = { handoverId, group, direction, range, span, lane, actor };
        const done: BatchResult = await db.transaction().execute((trx) => runBatch(trx, batch));
        changed += done.changed;
        entities.add(done.changed, { entity: group.entity, direction });
        range = done.next;
        ctx.heartbeat({ changed });
      }
    }
    let left = Number.POSITIVE_INFINITY;
    for (;;) {
      for (const group of await ledgerGroups(db, handoverId, direction)) {
        const runs = Array.from({ length: lanes }, (_, index) =>
          runLane(group, { index, of: lanes }).catch((err) => {
            stop = true;
            throw err;
          }),
        );
        const failed = (await Promise.allSettled(runs)).find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      const before = left;
      left = await ledgerLeft(db, handoverId, direction);
      if (left === 0) return changed;
      // Every pass covers every row, waiting on any a stuck attempt holds; one that ends no better off is a bug.
      if (left >= before) throw new Error(`${direction} of ${handoverId}: ${left} ledger rows left after a full pass`);
    }
  }

  async function ledgerCounts(handoverId: string) {
    const row = await db
      .selectFrom('handover_moves')
      .select([
        (eb) => eb.fn.countAll<number>().as('planned'),
        (eb) => eb.fn.count<number>('applied_at').as('moved'),
        (eb) => eb.fn.count<number>('reverted_at').as('reverted'),
      ])
      .where('handover_id', '=', handoverId)
      .executeTakeFirstOrThrow();
    return { planned: Number(row.planned), moved: Number(row.moved), reverted: Number(row.reverted) };
  }

  /** The office successors must be in: the agent's own, now (for a list of customers, the handover's). */
  async function refreshSuccessors(handover: Handover & { request: HandoverRequest }): Promise<HandoverRequest> {
    if (!successorOf(handover.request)) return handover.request;
    const agent = handover.agent_id
      ? await db.selectFrom('agents').select('office_id').where('id', '=', handover.agent_id).executeTakeFirst()
      : undefined;
    return currentSuccessors(
      db,
      handover.request,
      handover.agent_id ?? undefined,
      agent?.office_id ?? handover.office_id,
    );
  }

  const steps = {
    /** Re-checks the request against today's data and marks the agent `leaving` (saving its status for compensation). */
    async validate(handoverId: string): Promise<void> {
      const handover = await load(handoverId, 'validating');
      await kindOf(handover.kind).validate(db, handover.request, handoverId).catch(refusalIsFinal);
      if (!KIND_TRAITS[handover.kind].holdsAgent || !handover.agent_id) return;
      const agentId = handover.agent_id;
      await db.transaction().execute(async (trx) => {
        await sql`update handovers set agent_prev_status = a.status from agents a
          where handovers.id = ${handoverId} and a.id = ${agentId} and handovers.agent_prev_status is null`.execute(
          trx,
        );
        await trx
          .updateTable('agents')
          .set({ status: 'leaving', updated_at: new Date() })
          .where('id', '=', agentId)
          .where('status', 'in', ['active', 'absent'])
          .execute();
      });
    },

    /** Compensation of `validate` (and of `finish`): the agent gets back the status it had. */
    async releaseAgent(handoverId: string): Promise<void> {
      await sql`update agents set status = h.agent_prev_status, updated_at = now() from handovers h
        where h.id = ${handoverId} and agents.id = h.agent_id and h.agent_prev_status is not null
          and agents.status in ('leaving', 'offboarded')`.execute(db);
    },

    /** Lead sources that name the agent as default assignee; mirrors blocked/running into the row for lists. */
    async findBlockers(handoverId: string): Promise<BlockingLeadSource[]> {
      const handover = await load(handoverId);
      const sources = await db
        .selectFrom('lead_sources')
        .select(['key', 'name'])
        .where('default_assignee_id', '=', handover.agent_id)
        .orderBy('key')
        .execute();
      const blocked = sources.length > 0;
      await db
        .updateTable('handovers')
        .set({
          status: blocked ? 'blocked' : 'running',
          phase: blocked ? 'blocked' : handover.phase,
          updated_at: new Date(),
        })
        .where('id', '=', handoverId)
        .where('status', 'in', ['running', 'blocked'])
        .execute();
      return sources.map((s) => ({ leadSourceKey: s.key, name: s.name }));
    },

    /** Adds to the ledger what is to move (again: a second call sweeps up stragglers); returns the totals. */
    async plan(handoverId: string): Promise<{ added: number; planned: number }> {
      const handover = await load(handoverId, 'planning');
      let request = handover.request;
      if ((await ledgerCounts(handoverId)).planned === 0) {
        // The first plan, after any wait: successors as they are now; the sweep plans with the same.
        request = await refreshSuccessors(handover).catch(refusalIsFinal);
        if (request !== handover.request) {
          await db
            .updateTable('handovers')
            .set({ request: JSON.stringify(request) })
            .where('id', '=', handoverId)
            .execute();
        }
      }
      const added = await planHandover(db, handoverId, request).catch(refusalIsFinal);
      return { added, planned: (await ledgerCounts(handoverId)).planned };
    },

    async move(handoverId: string): Promise<{ moved: number }> {
      await load(handoverId, 'moving');
      await runLedger(handoverId, 'apply');
      return { moved: (await ledgerCounts(handoverId)).moved };
    },

    /** Compensation of `move`: reverts, newest first, exactly the applied moves whose entity still holds our value. */
    async revert(handoverId: string): Promise<{ reverted: number; conflicts: number }> {
      await load(handoverId, 'compensating');
      await runLedger(handoverId, 'revert');
      const { reverted } = await ledgerCounts(handoverId);
      const { conflicts } = await db
        .selectFrom('handover_moves')
        .select((eb) => eb.fn.countAll<number>().as('conflicts'))
        .where('handover_id', '=', handoverId)
        .where('conflict', 'in', [CONFLICT_AFTER_MOVE, CONFLICT_AGENT_GONE])
        .executeTakeFirstOrThrow();
      return { reverted, conflicts: Number(conflicts) };
    },

    /** Milliseconds until `at` (the clock is read here, not in the workflow); 0 when it has passed. */
    /** The time `seconds` from now: a durable deadline a continued run can wait for. */
    async deadlineAfter(seconds: number): Promise<string> {
      return new Date(Date.now() + seconds * 1000).toISOString();
    },

    async msUntil(at: string): Promise<number> {
      return Math.max(0, Date.parse(at) - Date.now());
    },

    /** The `until` of a cover, from its request. */
    async coverUntil(handoverId: string): Promise<string> {
      const handover = await load(handoverId, 'waiting');
      return ('until' in handover.request && handover.request.until) || new Date().toISOString();
    },

    /**
     * The end of a cover: callbacks it moved that have not ended and are still with the cover go
     * back to the agent (compare-and-set, ledger marked reverted) — unless the agent can no longer
     * take them (leaving or offboarded meanwhile), in which case the cover keeps them.
     */
    async handBack(handoverId: string): Promise<{ handedBack: number }> {
      const handover = await load(handoverId);
      const { rows } = await sql<{ count: number }>`
        with back as (
          update callbacks c set assignee_id = m.from_value, updated_at = now(), updated_by = ${handover.started_by}
          from handover_moves m
          join agents a on a.id = m.from_value and a.status in ('active', 'absent')
          where m.handover_id = ${handoverId} and m.entity = 'callback' and m.applied_at is not null
            and m.reverted_at is null and m.entity_id = c.id
            and c.assignee_id is not distinct from m.to_value and c.ends_at > now()
          returning c.id
        ), marked as (
          update handover_moves set reverted_at = now()
          where handover_id = ${handoverId} and entity = 'callback' and entity_id in (select id from back)
          returning 1
        )
        select count(*) as count from marked`.execute(db);
      return { handedBack: Number(rows[0]?.count ?? 0) };
    },

    async finish(handoverId: string): Promise<void> {
      const handover = await load(handoverId, 'finishing');
      await kindOf(handover.kind).finish(db, handover.request).catch(refusalIsFinal);
    },

    /** Writes the outcome and the summary; the row is what lists and finished handovers are answered from. */
    async settle(handoverId: string, outcome: Outcome): Promise<HandoverSummaryJson> {
      const byEntity = await db
        .selectFrom('handover_moves')
        .select(['entity', (eb) => eb.fn.countAll<number>().as('count')])
        .where('handover_id', '=', handoverId)
        .where('applied_at', 'is not', null)
        .where('reverted_at', 'is', null)
        .groupBy('entity')
        .execute();
      const bySuccessor = await db
        .selectFrom('handover_moves')
        .select(['to_value', (eb) => eb.fn.countAll<number>().as('count')])
        .where('handover_id', '=', handoverId)
        .where('entity', '=', 'customer')
        .where('field', '=', 'owner_id')
        .where('applied_at', 'is not', null)
        .where('reverted_at', 'is', null)
        .where('to_value', 'is not', null)
        .groupBy('to_value')
        .execute();
      const conflicts = await db
        .selectFrom('handover_moves')
        .select(['entity', 'entity_id', 'conflict'])
        .where('handover_id', '=', handoverId)
        .where('conflict', 'is not', null)
        .orderBy('seq')
        .limit(1000)
        .execute();
      const count = (entity: string) => Number(byEntity.find((e) => e.entity === entity)?.count ?? 0);
      const counts = await ledgerCounts(handoverId);
      // A failed handover's `error` says what is left (API.md): moves still applied that no compensation
      // reverted (conflicts aside: those are kept on purpose and listed in summary.conflicts).
      let error = outcome.error ?? null;
      if (outcome.status === 'failed') {
        const left = await db
          .selectFrom('handover_moves')
          .select(['entity', (eb) => eb.fn.countAll<number>().as('count')])
          .where('handover_id', '=', handoverId)
          .where('applied_at', 'is not', null)
          .where('reverted_at', 'is', null)
          .where('conflict', 'is', null)
          .groupBy('entity')
          .execute();
        const described = describeLeft(left.map((l) => ({ entity: l.entity, count: Number(l.count) })));
        if (described) error = `${error ?? 'failed'}; left moved, not reverted: ${described}`;
      }
      const { total } = await db
        .selectFrom('handover_moves')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where('handover_id', '=', handoverId)
        .where('conflict', 'is not', null)
        .executeTakeFirstOrThrow();
      const summary: HandoverSummaryJson = {
        customers: count('customer'),
        records: count('record'),
        callbacks: count('callback'),
        bySuccessor: Object.fromEntries(bySuccessor.map((s) => [s.to_value!, Number(s.count)])),
        conflicts: conflicts.map((c) => ({ entity: c.entity, id: c.entity_id, detail: c.conflict! })),
        ...(Number(total) > conflicts.length ? { conflictsOmitted: Number(total) - conflicts.length } : {}),
        progress: counts,
      };
      await db
        .updateTable('handovers')
        .set({
          status: outcome.status,
          phase: 'done',
          error,
          summary: JSON.stringify(summary),
          finished_at: new Date(),
          updated_at: new Date(),
        })
        .where('id', '=', handoverId)
        .execute();
      return summary;
    },
  };
  // The short steps heartbeat while they run (the workflow gives them a heartbeat timeout), so a worker that
  // dies mid-step is noticed in seconds, not at the 10-minute start-to-close timeout. move and revert
  // heartbeat their own cursor per batch and must not have it overwritten.
  const { move, revert, ...short } = steps;
  const alive = Object.fromEntries(Object.entries(short).map(([name, fn]) => [name, keepAlive(fn)])) as typeof short;
  return { ...alive, move, revert };
}

/** "20 customers, 21 records and the agent's office": what a failed handover left moved. */
function describeLeft(left: Array<{ entity: string; count: number }>): string | undefined {
  const order = ['customer', 'record', 'callback', 'agent'];
  const parts = [...left]
    .filter((l) => l.count > 0)
    .sort((a, b) => order.indexOf(a.entity) - order.indexOf(b.entity))
    .map((l) => (l.entity === 'agent' ? "the agent's office" : `${l.count} ${l.entity}${l.count === 1 ? '' : 's'}`));
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

const KEEP_ALIVE_MS = 5_000;

// biome-ignore lint/suspicious/noExplicitAny: wraps any activity function
function keepAlive<F extends (...args: any[]) => Promise<unknown>>(fn: F): F {
  return (async (...args: Parameters<F>) => {
    const ctx = Context.current();
    const timer = setInterval(() => ctx.heartbeat(), KEEP_ALIVE_MS);
    try {
      return await fn(...args);
    } finally {
      clearInterval(timer);
    }
  }) as F;
}
