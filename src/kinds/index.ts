/** Every handover kind as a thin definition: what it validates, plans and finishes. */
import type { Db } from '../db/connect';
import type { HandoverKind } from '../db/schema';
import type { HandoverRequest } from '../domain/handover';
import { finishOffboard, planOffboard, validateOffboard } from './offboard';
import {
  planReassignCallbacks,
  planReassignCustomers,
  validateReassignCallbacks,
  validateReassignCustomers,
} from './reassign';
import type { Scope } from './successors';
import { finishTransfer, planTransfer, validateTransfer } from './transfer';

export type { Scope };

export interface KindDefinition<R extends HandoverRequest = HandoverRequest> {
  /** Throws a Refusal when the request cannot run; returns whom and which office it is about. */
  validate(db: Db, request: R, handoverId?: string): Promise<Scope>;
  /** Adds to the ledger what is to move (only what is not planned yet); returns how many rows it added. */
  plan(db: Db, handoverId: string, request: R): Promise<number>;
  finish(db: Db, request: R): Promise<void>;
}

type Definitions = { [K in HandoverKind]: KindDefinition<Extract<HandoverRequest, { kind: K }>> };

const nothingToFinish = async () => undefined;

const definitions: Definitions = {
  offboard: { validate: validateOffboard, plan: planOffboard, finish: finishOffboard },
  transfer: { validate: validateTransfer, plan: planTransfer, finish: finishTransfer },
  'reassign-customers': { validate: validateReassignCustomers, plan: planReassignCustomers, finish: nothingToFinish },
  'reassign-callbacks': { validate: validateReassignCallbacks, plan: planReassignCallbacks, finish: nothingToFinish },
};

export function kindOf(kind: HandoverKind): KindDefinition {
  return definitions[kind] as KindDefinition;
}
