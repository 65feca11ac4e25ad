import { expect } from 'vitest';

/**
 * Exactly `count` rows, each matching `shape`. A bare `expect(rows.every(...)).toBe(true)` also
 * passes on an empty list, so it cannot see a query (or a seed) that found nothing.
 */
export function expectEach<T extends object>(rows: readonly T[], count: number, shape: Partial<T>): void {
  expect(rows).toHaveLength(count);
  for (const row of rows) expect(row).toMatchObject(shape);
}
