/**
 * The move ledger engine, shared by every handover kind. Planning fills `handover_moves`;
 * these functions apply or revert one batch of it with set-based SQL (one UPDATE … FROM unnest
 * per entity table and field), ledger and customer history in the same transaction.
 * Both directions are compare-and-set: an entity that no longer holds the expected value is
 * left alone and the ledger row records why.
 */
import { ApplicationFailure } from '@temporalio/common';
import { sql, type Transaction } from 'kysely';
import type { Database, MoveEntity, MoveField } from '../db/schema';

export interface LedgerRow {
  seq: number;
  entity: MoveEntity;
  entity_id: string;
  field: MoveField;
  from_value: string | null;
  to_value: string | null;
}

export type Direction = 'apply' | 'revert';

export const CONFLICT_BEFORE_MOVE = 'changed by someone else before the move; left as it was';
export const CONFLICT_AFTER_MOVE = 'changed by someone else after the move; kept, not reverted';

const TABLE: Record<MoveEntity, 'customers' | 'customer_records' | 'callbacks' | 'agents'> = {
  customer: 'customers',
  record: 'customer_records',
  callback: 'callbacks',
  agent: 'agents',
};

const HISTORY_FIELD: Partial<Record<MoveField, 'owner_id' | 'office_id'>> = {
  owner_id: 'owner_id',
  office_id: 'office_id',
};

/** Applies or reverts `rows` (one batch) in `trx`; returns how many entities changed. */
export async function runBatch(
  trx: Transaction<Database>,
  handoverId: string,
  rows: LedgerRow[],
  direction: Direction,
  actor: string,
): Promise<number> {
  if (direction === 'apply') await requireAvailableSuccessors(trx, rows);
  let done = 0;
  const refused: number[] = [];
  for (const group of groupBy(rows)) {
    const { entity, field } = group[0]!;
    const expected = group.map((r) => (direction === 'apply' ? r.from_value : r.to_value));
    const target = group.map((r) => (direction === 'apply' ? r.to_value : r.from_value));
    const ids = group.map((r) => r.entity_id);
    // Done records keep their assignee: reports stay true. Callbacks record who changed them.
    const onlyOpen = entity === 'record' ? sql`and t.status = 'open'` : sql``;
    const updatedBy = entity === 'callback' ? sql`, updated_by = ${actor}` : sql``;
    const changed = await sql<{ id: string }>`
      update ${sql.table(TABLE[entity])} as t
      set ${sql.ref(field)} = b.target, updated_at = now() ${updatedBy}
      from unnest(${ids}::text[], ${expected}::text[], ${target}::text[]) as b(id, expected, target)
      where t.id = b.id and t.${sql.ref(field)} is not distinct from b.expected ${onlyOpen}
      returning t.id`.execute(trx);
    const changedIds = new Set(changed.rows.map((r) => r.id));
    for (const r of group) {
      if (changedIds.has(r.entity_id)) done++;
      else refused.push(r.seq);
    }

    const historyField = entity === 'customer' ? HISTORY_FIELD[field] : undefined;
    if (historyField && changedIds.size > 0) {
      const moved = group.filter((r) => changedIds.has(r.entity_id));
      await sql`
        insert into customer_history (customer_id, field, from_value, to_value, actor, handover_id)
        select id, ${historyField}, before, after, ${actor}, ${handoverId}
        from unnest(${moved.map((r) => r.entity_id)}::text[],
                    ${moved.map((r) => (direction === 'apply' ? r.from_value : r.to_value))}::text[],
                    ${moved.map((r) => (direction === 'apply' ? r.to_value : r.from_value))}::text[]) as h(id, before, after)`.execute(
        trx,
      );
    }
  }
  if (refused.length) {
    // claimBatch stamped every row; a refused one is unstamped and says why.
    const why = direction === 'apply' ? CONFLICT_BEFORE_MOVE : CONFLICT_AFTER_MOVE;
    await sql`update handover_moves set ${stampOf(direction)} = null, conflict = ${why}
      where seq = any(${refused}::bigint[])`.execute(trx);
  }
  return done;
}

/** Fields whose new value is an agent (owner or assignee). */
const AGENT_FIELDS: ReadonlySet<MoveField> = new Set<MoveField>(['owner_id', 'assignee_id']);

/**
 * Invariant 7 at move time, not only at validation: nothing is assigned to an agent that is `leaving` or
 * `offboarded` (its own handover started after ours was validated). The agents are locked FOR SHARE until
 * the batch commits, so an offboarding's `finish` (which locks the agent row, then checks nothing is left)
 * either sees this batch's moves or makes this check fail; either way no customer ends with an offboarded agent.
 */
async function requireAvailableSuccessors(trx: Transaction<Database>, rows: LedgerRow[]): Promise<void> {
  const ids = [...new Set(rows.filter((r) => AGENT_FIELDS.has(r.field) && r.to_value).map((r) => r.to_value!))];
  if (ids.length === 0) return;
  const { rows: agents } = await sql<{ id: string; name: string; status: string }>`
    select id, name, status from agents where id = any(${ids}::text[]) order by id for share`.execute(trx);
  const gone = agents.filter((a) => a.status === 'leaving' || a.status === 'offboarded');
  if (gone.length > 0) {
    const who = gone.map((a) => `${a.name} (${a.id}) is ${a.status}`).join(', ');
    throw ApplicationFailure.nonRetryable(
      `successor ${who}: nothing more can be assigned to it, so this handover is undone`,
      'SuccessorUnavailable',
    );
  }
}

function groupBy(rows: LedgerRow[]): LedgerRow[][] {
  const groups = new Map<string, LedgerRow[]>();
  for (const r of rows) {
    const key = `${r.entity}.${r.field}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()];
}

const stampOf = (direction: Direction) => (direction === 'apply' ? sql.ref('applied_at') : sql.ref('reverted_at'));

/**
 * Claims the next batch to apply (ascending seq) or revert (descending) after `cursor`: stamps it
 * applied/reverted and returns it, in one pass over the ledger rows. The rows are locked first, so
 * a second attempt of the same activity (a heartbeat timeout while a batch waits on a row lock)
 * waits for the first and then skips its rows instead of seeing them as conflicts.
 */
export async function claimBatch(
  trx: Transaction<Database>,
  handoverId: string,
  direction: Direction,
  cursor: number | undefined,
  size: number,
): Promise<LedgerRow[]> {
  const next =
    direction === 'apply'
      ? sql`applied_at is null and seq > ${cursor ?? 0} order by seq asc`
      : sql`applied_at is not null and reverted_at is null and seq < ${cursor ?? Number.MAX_SAFE_INTEGER} order by seq desc`;
  const { rows } = await sql<LedgerRow>`
    update handover_moves set ${stampOf(direction)} = now()
    where seq in (select seq from handover_moves where handover_id = ${handoverId} and conflict is null and ${next}
                  limit ${size} for update)
    returning seq, entity, entity_id, field, from_value, to_value`.execute(trx);
  return rows
    .map((r) => ({ ...r, seq: Number(r.seq) }))
    .sort((a, b) => (direction === 'apply' ? a.seq - b.seq : b.seq - a.seq));
}
