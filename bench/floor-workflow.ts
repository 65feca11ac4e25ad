/**
 * The Temporal floor of an office closure: a workflow of a handover's shape (nine steps one after
 * another, as a completed offboard runs them) whose steps do nothing. What K of these cost at once
 * is what the Temporal service and the worker's workflow machinery cost, before any database work.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

interface Steps {
  step(n: number): Promise<number>;
}

/** findBlockers, validate, plan, move, sweep, notify, finish, settle, notify: a completed offboard's activities. */
export const HANDOVER_STEPS = 9;

const remote = proxyActivities<Steps>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<Steps>({ startToCloseTimeout: '1 minute' });

/** How the steps run: as activities (as the handovers run them) or as local activities. */
export type FloorKind = 'activities' | 'local';

export async function floorWorkflow(kind: FloorKind): Promise<number> {
  const steps = kind === 'local' ? local : remote;
  let done = 0;
  for (let i = 0; i < HANDOVER_STEPS; i++) done += await steps.step(i);
  return done;
}
