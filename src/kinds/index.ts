/** Every handover kind as a thin definition: what it validates, what moves, and how it finishes. */
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { HandoverKind } from '../db/schema';
import type { HandoverRequest } from '../domain/handover';
import { countMoves, type MoveCounts, type MoveStep, planMoves } from './moves';
import { finishOffboard, offboardMoves, validateOffboard } from './offboard';
import { planInTransaction } from './plan';
import {
  reassignCallbacksMoves,
  reassignCustomersMoves,
  validateReassignCallbacks,
  validateReassignCustomers,
} from './reassign';
import type { Scope } from './successors';
import { finishTransfer, transferMoves, validateTransfer } from './transfer';

export type { MoveCounts, Scope };

export interface KindDefinition<R extends HandoverRequest = HandoverRequest> {
  /** Throws a Refusal when the request cannot run; returns whom and which office it is about. */
  validate(db: Db, request: R, handoverId?: string): Promise<Scope>;
  /**
   * What moves, as steps shared by the plan and the preview; `officeId` is the office the handover
   * is about (the agent's when it was validated). May refuse (e.g. nobody left to take over).
   */
  moves(db: Db, request: R, officeId: string): Promise<MoveStep[]>;
  finish(db: Db, request: R): Promise<void>;
}

type Definitions = { [K in HandoverKind]: KindDefinition<Extract<HandoverRequest, { kind: K }>> };

const nothingToFinish = async () => undefined;

const definitions: Definitions = {
  offboard: { validate: validateOffboard, moves: offboardMoves, finish: finishOffboard },
  transfer: { validate: validateTransfer, moves: transferMoves, finish: finishTransfer },
  'reassign-customers': { validate: validateReassignCustomers, moves: reassignCustomersMoves, finish: nothingToFinish },
  'reassign-callbacks': { validate: validateReassignCallbacks, moves: reassignCallbacksMoves, finish: nothingToFinish },
};

export function kindOf(kind: HandoverKind): KindDefinition {
  return definitions[kind] as KindDefinition;
}

/** Adds to the ledger what is to move and not planned yet (a second call sweeps); returns the rows added. */
export function planHandover(db: Db, handoverId: string, request: HandoverRequest): Promise<number> {
  return planInTransaction(db, handoverId, async (trx, first) => {
    const { office_id } = await trx
      .selectFrom('handovers')
      .select('office_id')
      .where('id', '=', handoverId)
      .executeTakeFirstOrThrow();
    return planMoves(trx, handoverId, await kindOf(request.kind).moves(trx, request, office_id), first);
  });
}

/**
 * Memory for a preview's joins (a reassign of a whole book): its 1,000,000 moved customers hash
 * into about 100 MB, which the default 4 MB spills to disk in 16 batches. The preview only reads.
 */
const PREVIEW_WORK_MEM = '64MB';

/**
 * What the handover would move now, counted with aggregates over the same steps; writes nothing.
 * One read-only transaction with enough memory to join in one pass, and without JIT (compiling
 * each aggregate costs about 90 ms, more than the smaller ones take to run).
 */
export async function countHandover(db: Db, request: HandoverRequest, officeId: string): Promise<MoveCounts> {
  const count = (trx: Db) =>
    kindOf(request.kind)
      .moves(trx, request, officeId)
      .then((steps) => countMoves(trx, steps));
  if (db.isTransaction) return count(db);
  return db
    .transaction()
    .setAccessMode('read only')
    .execute(async (trx) => {
      await sql`set local work_mem = ${sql.lit(PREVIEW_WORK_MEM)}`.execute(trx);
      await sql`set local jit = off`.execute(trx);
      return count(trx);
    });
}
