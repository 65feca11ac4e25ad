/** Every handover kind as a thin definition: what it validates, plans and finishes. */
import type { Db } from '../db/connect';
import type { Agent, HandoverKind } from '../db/schema';
import type { HandoverRequest } from '../domain/handover';
import { countOffboard, finishOffboard, planOffboard, validateOffboard } from './offboard';

export interface KindDefinition<R extends HandoverRequest = HandoverRequest> {
  /** Throws a Refusal when the request cannot run; returns the agent handing over. */
  validate(db: Db, request: R, handoverId?: string): Promise<Agent>;
  /** What a preview shows and the plan would move now. */
  count(db: Db, request: R): ReturnType<typeof countOffboard>;
  /** Adds to the ledger what is to move; returns how many rows it added. */
  plan(db: Db, handoverId: string, request: R): Promise<number>;
  finish(db: Db, request: R): Promise<void>;
}

export const kinds: Record<HandoverKind, KindDefinition | undefined> = {
  offboard: {
    validate: validateOffboard,
    count: (db, request) => countOffboard(db, request.agentId),
    plan: planOffboard,
    finish: finishOffboard,
  },
  transfer: undefined,
  'reassign-customers': undefined,
  'reassign-callbacks': undefined,
};

export function kindOf(kind: HandoverKind): KindDefinition {
  const definition = kinds[kind];
  if (!definition) throw new Error(`handover kind ${kind} is not implemented yet`);
  return definition;
}
