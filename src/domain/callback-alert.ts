/** The alert state of a promised callback, computed at read time (API.md, Callbacks). Pure. */
export type CallbackAlert = 'overdue' | 'due' | 'soon';

/** How far ahead a callback counts as `soon`. */
export const SOON_WINDOW_MS = 10 * 60 * 1000;

/**
 * `overdue`: endsAt < now · `due`: startsAt ≤ now ≤ endsAt · `soon`: now < startsAt ≤ now + 10 min · else null.
 */
export function callbackAlert(startsAt: Date, endsAt: Date, now: Date): CallbackAlert | null {
  const t = now.getTime();
  if (endsAt.getTime() < t) return 'overdue';
  if (startsAt.getTime() <= t) return 'due';
  if (startsAt.getTime() <= t + SOON_WINDOW_MS) return 'soon';
  return null;
}
