/**
 * Holds one activity of one handover at the worker until the test lets it go, so a test can act
 * "meanwhile" without racing a timer: the workflow's own clock runs as usual, only the step waits.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface HeldStep {
  /** Resolves once the step was called (its attempt now waits for `release`). */
  reached: Promise<void>;
  release(): void;
}

export function activityGate() {
  const held = new Map<string, { reached: () => void; released: Promise<void> }>();
  const keyOf = (activityType: string, handoverId: string) => `${activityType} ${handoverId}`;
  return {
    /** From now on, `activityType` of `handoverId` waits at the worker until `release()`. */
    hold(activityType: string, handoverId: string): HeldStep {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => {
        reached = r;
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      held.set(keyOf(activityType, handoverId), { reached, released });
      return { reached: reachedP, release };
    },
    interceptor: ((ctx: Context) => ({
      inbound: {
        async execute(input, next) {
          const gate = held.get(keyOf(ctx.info.activityType, String(input.args[0])));
          if (gate) {
            gate.reached();
            // Heartbeat while held: a held step must not look like a dead worker (heartbeat timeout).
            const beat = setInterval(() => ctx.heartbeat(), 2_000);
            await gate.released.finally(() => clearInterval(beat));
          }
          return next(input);
        },
      },
    })) satisfies ActivityInterceptorsFactory,
  };
}
