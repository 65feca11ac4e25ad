/**
 * The one saga every handover kind runs:
 *   validate → wait while blocked → plan → move → notify → finish,
 * each state-changing step registering its compensation before it runs; on failure or cancel
 * (API or Temporal Web UI) the compensations run in reverse in a non-cancellable scope.
 * Kinds differ only in their activities (src/kinds) and traits (KIND_TRAITS).
 */
import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Outcome } from '../activities/handover-steps';
import type { NotifyEvent } from '../activities/notifications';
import type { HandoverSummaryJson } from '../db/schema';
import {
  type BlockedResume,
  type HandoverInput,
  type HandoverPhase,
  type HandoverState,
  KIND_TRAITS,
} from '../domain/handover';
import { HandoverStatusKey } from '../temporal/search-attributes';
import { agentReturnedSignal, recheckSignal, stateQuery } from './definitions';
import { failureMessage, ledger, mail, titled, tryCancelSteps, waitingSteps } from './steps';

/** A blocked run continues as new past this many events (about 11 a recheck), so none nears Temporal's limit. */
const CONTINUE_AS_NEW_AFTER_EVENTS = 150;

export interface HandoverResult {
  status: Outcome['status'];
  summary: HandoverSummaryJson;
}

export async function handoverWorkflow(input: HandoverInput): Promise<HandoverResult> {
  const { handoverId: id, options } = input;
  // Runs started before this change keep the cancellation they recorded.
  const steps = patched('steps-end-before-compensation') ? waitingSteps : tryCancelSteps;
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
      await titled(mail.notify, `mail: ${event}`, id, event);
    } catch (err) {
      if (isCancellation(err)) throw err;
    }
  };

  async function waitWhileBlocked(resume: BlockedResume | undefined): Promise<void> {
    if (resume) {
      state.blockedBy = resume.blockedBy; // the admins were told in an earlier run
      recheckRequested ||= resume.recheckRequested;
    } else {
      state.blockedBy = await titled(steps.findBlockers, 'look for lead sources routed to the agent', id);
      if (state.blockedBy.length === 0) return;
    }
    enter('blocked');
    setStatus('blocked');
    if (!resume) await notify('blocked');
    // Invariant 10: a wait of any length stays small in history; runs started before this change
    // keep the unbounded loop they recorded.
    const bounded = resume !== undefined || patched('bounded-blocked-wait');
    const escalateAt = bounded
      ? (resume?.escalateAt ?? (await titled(steps.deadlineAfter, 'when to escalate', options.escalateAfterSeconds)))
      : undefined;
    let escalated = resume?.escalated ?? false;
    // Escalation is its own durable timer, so it fires on time whatever the recheck interval.
    let escalationDue = false;
    const escalationTimer = new CancellationScope();
    if (!escalated) {
      const ms = escalateAt
        ? await titled(steps.msUntil, 'time until escalation', escalateAt)
        : options.escalateAfterSeconds * 1000;
      escalationTimer
        .run(() => sleep(Math.max(ms, 1), { summary: 'escalate to the office admins' }))
        .then(() => {
          escalationDue = true;
        })
        .catch(() => undefined);
    }
    while (state.blockedBy.length > 0) {
      if (escalateAt && workflowInfo().historyLength > CONTINUE_AS_NEW_AFTER_EVENTS) {
        escalationTimer.cancel();
        const next: BlockedResume = {
          stage: 'blocked',
          blockedBy: state.blockedBy,
          escalateAt,
          escalated,
          recheckRequested,
        };
        await continueAsNew<typeof handoverWorkflow>({ ...input, resume: next });
      }
      await condition(() => recheckRequested || (escalationDue && !escalated), options.recheckIntervalSeconds * 1000, {
        summary: 'recheck the blocking lead sources',
      });
      recheckRequested = false; // consumed only now: a recheck sent while we mailed the admins is not lost
      state.blockedBy = await titled(steps.findBlockers, 'recheck the lead sources', id);
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
    if (input.effectiveAt && !input.resume) {
      // Nothing is touched before the effective time; a cancel meanwhile just ends it.
      enter('waiting');
      await sleep(await titled(steps.msUntil, 'time until effectiveAt', input.effectiveAt), {
        summary: `wait until effectiveAt ${input.effectiveAt}`,
      });
    }
    enter('validating');
    compensations.unshift(() => titled(steps.releaseAgent, 'compensate: give the agent its status back', id));
    // A continued run was validated by an earlier one: it goes on waiting where that one stopped.
    if (!input.resume) {
      await titled(steps.validate, "check the request against today's data; mark the agent leaving", id);
    }

    if (traits.blocksOnLeadSources) await waitWhileBlocked(input.resume);

    enter('planning');
    state.progress.planned = (await titled(steps.plan, 'plan every move into the ledger', id)).planned;

    enter('moving');
    movesBegan = true;
    compensations.unshift(async () => {
      state.progress.reverted = (
        await titled(ledger.revert, "compensate: revert the ledger's moves, newest first", id)
      ).reverted;
      await notify('reverted');
    });
    state.progress.moved = (await titled(ledger.move, 'move in batches (progress in the heartbeat)', id)).moved;
    // Sweep: anything assigned to the agent while we planned is planned and moved too.
    const sweep = await titled(steps.plan, 'sweep: plan what was assigned meanwhile', id);
    if (sweep.added > 0) {
      state.progress.planned = sweep.planned;
      state.progress.moved = (await titled(ledger.move, 'move what the sweep found', id)).moved;
    }

    enter('notifying');
    await notify('assigned');

    enter('finishing');
    compensations.unshift(() => titled(steps.releaseAgent, 'compensate: give the agent its status back', id));
    await titled(steps.finish, 'finish (deactivate, or settle the agent in its new office)', id);

    if (input.cover) {
      // A cover: the callbacks stay with the cover until `until` or the agent's return, then go back.
      enter('waiting');
      const until = await titled(steps.coverUntil, 'read the end of the cover', id);
      await condition(() => agentReturned, await titled(steps.msUntil, 'time until the cover ends', until), {
        summary: `cover until ${until} or the agent's return`,
      });
      state.progress.reverted = (await titled(steps.handBack, 'hand the callbacks back', id)).handedBack;
      await notify('handed-back');
    }

    const summary = await titled(steps.settle, 'record the outcome', id, { status: 'completed' });
    enter('done');
    setStatus('completed');
    await notify('finished');
    return { status: 'completed', summary };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err; // not a failure: the saga goes on in the next run
    const cancelled = isCancellation(err);
    const reason = cancelled ? 'cancelled' : failureMessage(err);
    const outcome = await CancellationScope.nonCancellable(async () => {
      enter('compensating');
      let error: string | undefined = cancelled ? undefined : reason;
      let compensated = true;
      // Every compensation runs, even after one fails for good: each undoes what it can, and each failure is reported.
      const failures: string[] = [];
      for (const compensate of compensations) {
        try {
          await compensate();
        } catch (compensationErr) {
          failures.push(failureMessage(compensationErr));
        }
      }
      if (failures.length > 0) {
        compensated = false;
        error = `compensation could not finish (${failures.join('; ')}); check the move ledger of ${id}`;
      }
      // cancelled: stopped before anything moved; compensated: moves began and were all undone.
      let status: Outcome['status'] = cancelled ? 'cancelled' : 'failed';
      if (!compensated) status = 'failed';
      else if (movesBegan) status = 'compensated';
      await titled(steps.settle, 'record the outcome', id, { status, error });
      enter('done');
      setStatus(status);
      return { status, error };
    });
    if (cancelled) throw err;
    throw ApplicationFailure.nonRetryable(`handover ${outcome.status}: ${outcome.error ?? reason}`, 'HandoverFailed');
  }
}
