import { describe, expect, test } from 'vitest';
import { callbackAlert, SOON_WINDOW_MS } from '../../src/domain/callback-alert';

const now = new Date('2025-04-01T06:00:00.000Z');
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
const MIN = 60_000;

describe('callbackAlert', () => {
  test('overdue once the window has ended', () => {
    expect(callbackAlert(at(-60 * MIN), at(-1), now)).toBe('overdue');
    expect(callbackAlert(at(-60 * MIN), at(-30 * MIN), now)).toBe('overdue');
  });

  test('due inside the window, both ends included', () => {
    expect(callbackAlert(at(-MIN), at(MIN), now)).toBe('due');
    expect(callbackAlert(now, at(MIN), now)).toBe('due');
    expect(callbackAlert(at(-MIN), now, now)).toBe('due');
    expect(callbackAlert(now, now, now)).toBe('due');
  });

  test('soon when it starts within the next 10 minutes, the 10th minute included', () => {
    expect(callbackAlert(at(1), at(30 * MIN), now)).toBe('soon');
    expect(callbackAlert(at(SOON_WINDOW_MS), at(30 * MIN), now)).toBe('soon');
  });

  test('null when it starts later than 10 minutes from now', () => {
    expect(callbackAlert(at(SOON_WINDOW_MS + 1), at(30 * MIN), now)).toBeNull();
    expect(callbackAlert(at(24 * 60 * MIN), at(25 * 60 * MIN), now)).toBeNull();
  });

  test('SOON_WINDOW_MS is ten minutes', () => {
    expect(SOON_WINDOW_MS).toBe(10 * MIN);
  });
});
