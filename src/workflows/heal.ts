/**
 * Heals a handover whose workflow is closed or missing while its row says running (invariant 10):
 * the ledger says exactly what moved, so the compensation its own saga would have run is finished
 * here (revert, tell who was told, give the agent its status back) and the row settles as `failed`
 * with `error` saying what happened. Started by the integrity sweep as `heal:<handoverId>`.
 */
import type { HandoverSummaryJson } from '../db/schema';
import { ledger, mail, waitingSteps as steps, titled } from './steps';

export async function healHandoverWorkflow(handoverId: string, why: string): Promise<HandoverSummaryJson> {
  const { reverted, conflicts } = await titled(ledger.revert, "revert the ledger's moves, newest first", handoverId);
  // Mail never stops a heal: a notification that fails for good is recorded in the outbox.
  await titled(mail.notify, 'mail: reverted', handoverId, 'reverted').catch(() => undefined);
  await titled(steps.releaseAgent, 'give the agent its status back', handoverId);
  const kept = conflicts > 0 ? ` (${conflicts} kept where they are, listed in summary.conflicts)` : '';
  const summary = await titled(steps.settle, 'record the outcome', handoverId, {
    status: 'failed',
    error: `${why}; the integrity sweep reverted ${reverted} moves${kept} and gave the agent its status back. Start a new handover if it is still wanted`,
  });
  await titled(mail.notify, 'mail: finished', handoverId, 'finished').catch(() => undefined);
  return summary;
}
