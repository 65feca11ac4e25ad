/** A test-only failing step: the `finish` of chosen handovers fails for good, after every move. */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * An activity interceptor for `startWorker({ activity: [...] })`, and the map choosing whose
 * `finish` fails: set a handover's ID (with a hook run just before the failure, or none).
 */
export function failingFinish() {
  const handovers = new Map<string, (() => Promise<void>) | undefined>();
  const interceptor: ActivityInterceptorsFactory = (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const id = String(input.args[0]);
        if (ctx.info.activityType === 'finish' && handovers.has(id)) {
          await handovers.get(id)?.();
          throw ApplicationFailure.nonRetryable('injected failure after the moves', 'InjectedFailure');
        }
        return next(input);
      },
    },
  });
  return { handovers, interceptor };
}
