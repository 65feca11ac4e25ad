/**
 * The one saga every handover kind runs:
 *   validate → wait while blocked → plan → move → notify → finish,
 * each state-changing step registering its compensation before it runs; on failure or cancel
 * (API or Temporal Web UI) the compensations run in reverse in a non-cancellable scope.
 * Kinds differ only in their activities (src/kinds) and traits (KIND_TRAITS).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Outcome } from '../activities/handover-steps';
import type { NotifyEvent } from '../activities/notifications';
import type { HandoverSummaryJson } from '../db/schema';
import { type HandoverInput, type HandoverPhase, type HandoverState, KIND_TRAITS } from '../domain/handover';
import { HandoverStatusKey } from '../temporal/search-attributes';
import { agentReturnedSignal, recheckSignal, stateQuery } from './definitions';

// The steps heartbeat every few seconds while they run: a worker that dies mid-step is noticed within the heartbeat timeout.
const steps = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['Refusal', 'MissingHandover'] },
});
// Moving and reverting are long loops: a heartbeat every batch lets a crashed worker be noticed
// quickly and the next attempt resume from the cursor; cancel waits until the batch in flight ends.
const ledger = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});
const mail = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 8 },
});

export interface HandoverResult {
  status: Outcome['status'];
  summary: HandoverSummaryJson;
}

export async function handoverWorkflow(input: HandoverInput): Promise<HandoverResult> {
  const { handoverId: id, options } = input;
  const traits = KIND_TRAITS[input.kind];
  const state: HandoverState = {
    status: 'running',
    phase: 'validating',
    blockedBy: [],
    progress: { planned: 0, moved: 0, reverted: 0 },
  };
  let recheckRequested = false;
  setHandler(stateQuery, () => state);
  setHandler(recheckSignal, () => {
    recheckRequested = true;
  });
  let agentReturned = false;
  setHandler(agentReturnedSignal, () => {
    agentReturned = true;
  });

  const setStatus = (status: HandoverState['status']) => {
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: HandoverStatusKey, value: status }]);
    showDetails();
  };
  const enter = (phase: HandoverPhase) => {
    state.phase = phase;
    showDetails();
  };
  /** The live line under the workflow in the Temporal Web UI. */
  const showDetails = () => {
    const { planned, moved, reverted } = state.progress;
    const blocked = state.blockedBy.map((b) => b.leadSourceKey).join(', ');
    setCurrentDetails(
      `**${state.status}**${state.phase === state.status ? '' : ` · ${state.phase}`}` +
        (planned ? ` · moved ${moved} of ${planned}` : '') +
        (reverted ? ` · reverted ${reverted}` : '') +
        (blocked ? ` · blocked by lead sources: ${blocked}` : ''),
    );
  };
  /** Mail never undoes a move: a notification that fails for good is recorded in the outbox and the saga goes on. */
  const notify = async (event: NotifyEvent) => {
    try {
      await mail.notify(id, event);
    } catch (err) {
      if (isCancellation(err)) throw err;
    }
  };

  async function waitWhileBlocked(): Promise<void> {
    state.blockedBy = await steps.findBlockers(id);
    if (state.blockedBy.length === 0) return;
    enter('blocked');
    setStatus('blocked');
    await notify('blocked');
    // Escalation is its own durable timer, so it fires on time whatever the recheck interval.
    let escalationDue = false;
    const escalationTimer = new CancellationScope();
    escalationTimer
      .run(() => sleep(options.escalateAfterSeconds * 1000, { summary: 'escalate to the office admins' }))
      .then(() => {
        escalationDue = true;
      })
      .catch(() => undefined);
    let escalated = false;
    while (state.blockedBy.length > 0) {
      await condition(() => recheckRequested || (escalationDue && !escalated), options.recheckIntervalSeconds * 1000, {
        summary: 'recheck the blocking lead sources',
      });
      recheckRequested = false; // consumed only now: a recheck sent while we mailed the admins is not lost
      state.blockedBy = await steps.findBlockers(id);
      if (state.blockedBy.length > 0 && escalationDue && !escalated) {
        escalated = true;
        await notify('escalated');
      }
    }
    escalationTimer.cancel();
    setStatus('running');
  }

  const compensations: Array<() => Promise<unknown>> = [];
  let movesBegan = false;
  try {
    if (input.effectiveAt) {
      // Nothing is touched before the effective time; a cancel meanwhile just ends it.
      enter('waiting');
      await sleep(await steps.msUntil(input.effectiveAt), { summary: `wait until effectiveAt ${input.effectiveAt}` });
    }
    enter('validating');
    compensations.unshift(() => steps.releaseAgent(id));
    await steps.validate(id);

    if (traits.blocksOnLeadSources) await waitWhileBlocked();

    enter('planning');
    state.progress.planned = (await steps.plan(id)).planned;

    enter('moving');
    movesBegan = true;
    compensations.unshift(async () => {
      state.progress.reverted = (await ledger.revert(id)).reverted;
      await notify('reverted');
    });
    state.progress.moved = (await ledger.move(id)).moved;
    // Sweep: anything assigned to the agent while we planned is planned and moved too.
    const sweep = await steps.plan(id);
    if (sweep.added > 0) {
      state.progress.planned = sweep.planned;
      state.progress.moved = (await ledger.move(id)).moved;
    }

    enter('notifying');
    await notify('assigned');

    enter('finishing');
    compensations.unshift(() => steps.releaseAgent(id));
    await steps.finish(id);

    if (input.cover) {
      // A cover: the callbacks stay with the cover until `until` or the agent's return, then go back.
      enter('waiting');
      const until = await steps.coverUntil(id);
      await condition(() => agentReturned, await steps.msUntil(until), {
        summary: `cover until ${until} or the agent's return`,
      });
      state.progress.reverted = (await steps.handBack(id)).handedBack;
      await notify('handed-back');
    }

    const summary = await steps.settle(id, { status: 'completed' });
    enter('done');
    setStatus('completed');
    await notify('finished');
    return { status: 'completed', summary };
  } catch (err) {
    const cancelled = isCancellation(err);
    const reason = cancelled ? 'cancelled' : failureMessage(err);
    const outcome = await CancellationScope.nonCancellable(async () => {
      enter('compensating');
      let error: string | undefined = cancelled ? undefined : reason;
      let compensated = true;
      try {
        for (const compensate of compensations) await compensate();
      } catch (compensationErr) {
        compensated = false;
        error = `compensation could not finish (${failureMessage(compensationErr)}); check the move ledger of ${id}`;
      }
      // cancelled: stopped before anything moved; compensated: moves began and were all undone.
      let status: Outcome['status'] = cancelled ? 'cancelled' : 'failed';
      if (!compensated) status = 'failed';
      else if (movesBegan) status = 'compensated';
      await steps.settle(id, { status, error });
      enter('done');
      setStatus(status);
      return { status, error };
    });
    if (cancelled) throw err;
    throw ApplicationFailure.nonRetryable(`handover ${outcome.status}: ${outcome.error ?? reason}`, 'HandoverFailed');
  }
}

function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  // Activity failures wrap the real reason in `cause`.
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
