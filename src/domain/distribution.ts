/**
 * How many customers each successor gets. Pure arithmetic, so planning can turn it into one
 * set-based INSERT … SELECT (row_number() ranges) with no per-customer round trips.
 */

export interface Slot {
  agentId: string | null;
  count: number;
}

/**
 * Least-loaded: fill the emptiest successors first ("water filling"), so that after the move the
 * loads are as even as they can be. Ties go to the earlier pool member.
 */
export function leastLoadedQuota(loads: Array<{ agentId: string; load: number }>, total: number): Slot[] {
  const slots = loads.map((l) => ({ agentId: l.agentId, count: 0, load: l.load }));
  if (slots.length === 0 || total <= 0) return slots.map(({ agentId }) => ({ agentId, count: 0 }));
  // Raise the water level to the largest L with sum(max(0, L - load)) <= total, then share the rest.
  const sorted = [...slots].sort((a, b) => a.load - b.load);
  let remaining = total;
  let level = sorted[0]!.load;
  for (let i = 0; i < sorted.length; i++) {
    const next = i + 1 < sorted.length ? sorted[i + 1]!.load : Number.POSITIVE_INFINITY;
    const width = i + 1;
    const raise = Math.min(next - level, Math.floor(remaining / width));
    level += raise;
    remaining -= raise * width;
    if (raise < next - level || next === Number.POSITIVE_INFINITY) break;
  }
  for (const s of slots) s.count = Math.max(0, level - s.load);
  remaining = total - slots.reduce((sum, s) => sum + s.count, 0);
  // The remainder (< number of filled slots) goes one each to the lowest-loaded, pool order on ties.
  const byLevel = slots
    .map((s, index) => ({ s, index }))
    .filter(({ s }) => s.load <= level)
    .sort((a, b) => a.s.load + a.s.count - (b.s.load + b.s.count) || a.index - b.index);
  for (let i = 0; remaining > 0; i = (i + 1) % byLevel.length, remaining--) byLevel[i]!.s.count++;
  return slots.map(({ agentId, count }) => ({ agentId, count }));
}

/** Round-robin over the pool in pool order: the i-th customer (0-based) goes to pool[i mod n]. */
export function roundRobinQuota(pool: string[], total: number): Slot[] {
  return pool.map((agentId, i) => ({
    agentId,
    count: Math.floor(total / pool.length) + (i < total % pool.length ? 1 : 0),
  }));
}
