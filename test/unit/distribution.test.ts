import { describe, expect, test } from 'vitest';
import { leastLoadedQuota, roundRobinQuota } from '../../src/domain/distribution';

describe('leastLoadedQuota', () => {
  test('fills the emptiest first and evens out', () => {
    const quota = leastLoadedQuota(
      [
        { agentId: 'a', load: 10 },
        { agentId: 'b', load: 0 },
        { agentId: 'c', load: 4 },
      ],
      12,
    );
    expect(quota).toEqual([
      { agentId: 'a', count: 0 },
      { agentId: 'b', count: 8 },
      { agentId: 'c', count: 4 },
    ]);
  });

  test('shares a remainder one each, in pool order on ties', () => {
    expect(
      leastLoadedQuota(
        [
          { agentId: 'a', load: 0 },
          { agentId: 'b', load: 0 },
        ],
        5,
      ),
    ).toEqual([
      { agentId: 'a', count: 3 },
      { agentId: 'b', count: 2 },
    ]);
  });

  test('always hands out exactly the total', () => {
    for (let total = 0; total < 60; total += 7) {
      const loads = [3, 17, 0, 9].map((load, i) => ({ agentId: `x${i}`, load }));
      const quota = leastLoadedQuota(loads, total);
      expect(quota.reduce((s, q) => s + q.count, 0)).toBe(total);
      const after = quota.map((q, i) => q.count + loads[i]!.load);
      const receivers = quota.filter((q) => q.count > 0).map((q) => after[quota.indexOf(q)]!);
      if (receivers.length) expect(Math.max(...receivers) - Math.min(...receivers)).toBeLessThanOrEqual(1);
    }
  });
});

describe('roundRobinQuota', () => {
  test('splits evenly, earlier members take the remainder', () => {
    expect(roundRobinQuota(['a', 'b', 'c'], 10).map((q) => q.count)).toEqual([4, 3, 3]);
  });
});
