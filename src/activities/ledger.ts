/**
 * The move ledger engine, shared by every handover kind. Planning fills `handover_moves`; a batch
 * applies or reverts up to `size` ledger rows of one entity and field in ONE statement that runs
 * inside PostgreSQL (claim, compare-and-set update, customer history, ledger stamp): no row crosses
 * to the worker, so batches are large without worker memory. An entity that no longer holds the
 * expected value is left alone and its ledger row records why.
 */
import { ApplicationFailure } from '@temporalio/common';
import { type RawBuilder, sql, type Transaction } from 'kysely';
import type { Db } from '../db/connect';
import type { Database, MoveEntity, MoveField } from '../db/schema';

export type Direction = 'apply' | 'revert';

export const CONFLICT_BEFORE_MOVE = 'changed by someone else before the move; left as it was';
export const CONFLICT_AFTER_MOVE = 'changed by someone else after the move; kept, not reverted';
export const CONFLICT_AGENT_GONE = 'its previous agent is leaving or offboarded now; kept, not handed back';

const TABLE: Record<MoveEntity, 'customers' | 'customer_records' | 'callbacks' | 'agents'> = {
  customer: 'customers',
  record: 'customer_records',
  callback: 'callbacks',
  agent: 'agents',
};

/** Fields whose new value is an agent (owner or assignee): invariant 7 is checked for them at move time. */
const AGENT_FIELDS: ReadonlySet<MoveField> = new Set<MoveField>(['owner_id', 'assignee_id']);

/**
 * One of `of` lanes the ledger is split into by entity, so that batches run side by side on separate
 * connections (PostgreSQL runs a statement on one core) and never touch the same row: both fields of
 * a customer (office and owner) are in the same lane, so lanes neither wait on nor deadlock each other.
 */
export interface Lane {
  index: number;
  of: number;
}

/** The ledger rows of one entity and field, between seq `first` and `last`. */
export interface Group {
  entity: MoveEntity;
  field: MoveField;
  first: number;
  last: number;
}

/** The groups of a handover's ledger in the order they run: plan order to apply, the reverse to revert. */
export async function ledgerGroups(db: Db, handoverId: string, direction: Direction): Promise<Group[]> {
  const { rows } = await sql<Group>`
    select entity, field, min(seq) as first, max(seq) as last from handover_moves
    where handover_id = ${handoverId} group by entity, field`.execute(db);
  return rows.sort((a, b) => (direction === 'apply' ? a.first - b.first : b.last - a.last));
}

/**
 * The first batch range of `group`, `span` seqs wide. A batch is a seq range, not "the next n rows":
 * its query is an index range scan whatever the planner guesses, with no ORDER BY … LIMIT; each batch
 * names where the next one starts (the group's next seq), so gaps in a group cost nothing.
 */
export function firstRange(group: Group, direction: Direction, span: number): SeqRange {
  return rangeFrom(group.first, group.last, direction, span);
}

function rangeFrom(first: number, last: number, direction: Direction, span: number): SeqRange {
  return direction === 'apply' ? { from: first, to: first + span - 1 } : { from: last - span + 1, to: last };
}

export interface SeqRange {
  from: number;
  to: number;
}

/** How many ledger rows are still to apply (or, applied, to revert): a pass is over when none are. */
export async function ledgerLeft(db: Db, handoverId: string, direction: Direction): Promise<number> {
  const { rows } = await sql<{ left: number }>`
    select count(*) as left from handover_moves
    where handover_id = ${handoverId} and conflict is null and ${stillToDo(direction)}`.execute(db);
  return Number(rows[0]!.left);
}

export interface Batch {
  handoverId: string;
  group: Group;
  direction: Direction;
  range: SeqRange;
  /** The width of the next range. */
  span: number;
  lane: Lane;
  actor: string;
}

export interface BatchResult {
  changed: number;
  next: SeqRange | undefined;
}

/**
 * Applies or reverts the rows of `group` in `range` that belong to `lane`, in `trx`; returns how many
 * entities changed and the group's next range (none when the group is done). The ledger rows are
 * locked first, so a second attempt of the same activity (one whose heartbeat timed out while a
 * batch waited on a lock) waits for the first and then skips its rows instead of seeing them as
 * conflicts.
 */
export async function runBatch(
  trx: Transaction<Database>,
  { handoverId, group, direction, range, span, lane, actor }: Batch,
): Promise<BatchResult> {
  const { entity, field } = group;
  const apply = direction === 'apply';
  // A mask, not abs(): abs(hashtext(…)) raises for -2147483648.
  const inLane = lane.of > 1 ? sql`and mod(hashtext(entity_id) & 2147483647, ${lane.of}) = ${lane.index}` : sql``;
  const checkSuccessors = apply && AGENT_FIELDS.has(field);
  // Invariant 9: a revert never hands anything back to an agent that is leaving or offboarded now
  // (the handover's own agent excepted: it is `leaving` because of this very handover).
  const guardReturn = !apply && AGENT_FIELDS.has(field);
  // Moves are applied only while the handover is in phase `moving`, its row held FOR SHARE: once a
  // compensation or a heal (src/workflows/heal.ts) has set `compensating`, a move attempt still
  // running somewhere (its workflow terminated) changes nothing more, so the revert is the last word.
  const whileMoving = apply
    ? sql`and exists (select 1 from handovers where id = ${handoverId} and phase = 'moving' for share)`
    : sql``;
  const { rows } = await sql<{ changed: number; next: number | null; gone: Gone[] }>`
    with batch as (
      select seq, entity_id, ${apply ? sql`from_value` : sql`to_value`} as expected,
             ${apply ? sql`to_value` : sql`from_value`} as target
      from handover_moves
      where handover_id = ${handoverId} and seq between ${range.from} and ${range.to}
        and entity = ${entity} and field = ${field} and conflict is null and ${stillToDo(direction)} ${inLane}
        ${whileMoving}
      for update
    ), successors as (
      -- The handover's own agent is exempt: a transfer with move gives it its customers' records (invariant 9).
      select id, name, status from agents where ${checkSuccessors ? sql`id in (select target from batch)` : sql`false`}
        and id is distinct from (select agent_id from handovers where id = ${handoverId})
      order by id for share
    ), gone_back as (
      select a.id from agents a
      where ${guardReturn ? sql`a.id in (select target from batch)` : sql`false`}
        and a.status in ('leaving', 'offboarded')
        and a.id is distinct from (select agent_id from handovers where id = ${handoverId})
    ), changed as (
      ${changeEntities(entity, field, actor)}
      -- Locks the successors before any entity is touched (a one-time filter), and touches none if one is gone.
      and not exists (select 1 from successors s where s.status in ('leaving', 'offboarded'))
      and ${guardReturn ? sql`b.target not in (select id from gone_back)` : sql`true`}
      returning b.seq, t.id, b.expected, b.target
    ), history as (
      ${entity === 'customer' ? recordHistory(field, actor, handoverId) : sql`select 1`}
    ), stamped as (
      update handover_moves m set ${stampOf(direction)} = now() from changed c where m.seq = c.seq
    ), refused as (
      update handover_moves m
      set conflict = case when m.from_value in (select id from gone_back) and ${!apply} then ${CONFLICT_AGENT_GONE}
                          else ${apply ? CONFLICT_BEFORE_MOVE : CONFLICT_AFTER_MOVE} end
      from (select seq from batch except all select seq from changed) r where m.seq = r.seq
    )
    select (select count(*) from changed) as changed,
           (select ${apply ? sql`min(seq)` : sql`max(seq)`} from handover_moves where handover_id = ${handoverId}
              and entity = ${entity} and field = ${field}
              and ${apply ? sql`seq > ${range.to}` : sql`seq < ${range.from}`}) as next,
           (select coalesce(json_agg(s), '[]') from successors s where s.status in ('leaving', 'offboarded')) as gone
  `.execute(trx);
  const { changed, next, gone } = rows[0]!;
  if (gone.length > 0) {
    // Invariant 7 at move time: a successor started leaving after we were validated. The agents are
    // locked FOR SHARE until the batch commits, so an offboarding's finish (which locks the agent row,
    // then checks nothing is left) either sees this batch's moves or makes this check fail.
    const who = gone.map((a) => `${a.name} (${a.id}) is ${a.status}`).join(', ');
    throw ApplicationFailure.nonRetryable(
      `successor ${who}: nothing more can be assigned to it, so this handover is undone`,
      'SuccessorUnavailable',
    );
  }
  return {
    changed: Number(changed),
    next: next === null ? undefined : rangeFrom(Number(next), Number(next), direction, span),
  };
}

interface Gone {
  id: string;
  name: string;
  status: string;
}

/** The compare-and-set UPDATE of one entity table and field from the batch. */
function changeEntities(entity: MoveEntity, field: MoveField, actor: string): RawBuilder<unknown> {
  // Done records keep their assignee: reports stay true. Callbacks record who changed them.
  const onlyOpen = entity === 'record' ? sql`and t.status = 'open'` : sql``;
  const updatedBy = entity === 'callback' ? sql`, updated_by = ${actor}` : sql``;
  return sql`
    update ${sql.table(TABLE[entity])} as t
    set ${sql.ref(field)} = b.target, updated_at = now() ${updatedBy}
    from batch b
    where t.id = b.entity_id and t.${sql.ref(field)} is not distinct from b.expected ${onlyOpen}`;
}

/** Invariant 8: every owner and office change of a customer, in its history with actor and handover. */
function recordHistory(field: MoveField, actor: string, handoverId: string): RawBuilder<unknown> {
  return sql`
    insert into customer_history (customer_id, field, from_value, to_value, actor, handover_id)
    select id, ${field}, expected, target, ${actor}, ${handoverId} from changed`;
}

/** Ledger rows this direction has yet to do: not applied yet, or applied and not reverted yet. */
const stillToDo = (direction: Direction) =>
  direction === 'apply' ? sql`applied_at is null` : sql`applied_at is not null and reverted_at is null`;

const stampOf = (direction: Direction) => (direction === 'apply' ? sql.ref('applied_at') : sql.ref('reverted_at'));
