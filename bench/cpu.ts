/**
 * Where the machine's CPU went during a window, by process: a bench on one machine shares its
 * cores between the API, the workers, the Temporal server and PostgreSQL, and its figures only
 * make sense beside that split. Reads /proc (Linux); processes that exit inside the window count
 * only through their parent (PostgreSQL's backends through the postmaster).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on

interface Sample {
  processes: Map<number, { comm: string; ticks: number }>;
  idleTicks: number;
  totalTicks: number;
}

function sample(): Sample {
  const processes = new Map<number, { comm: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14–17 of stat(5), here 11–14 after the comm.
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
      processes.set(Number(entry), { comm, ticks });
    } catch {
      // gone meanwhile
    }
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return { processes, idleTicks: (cpu[3] ?? 0) + (cpu[4] ?? 0), totalTicks: cpu.reduce((a, b) => a + b, 0) };
}

/** Starts a window; the returned function ends it and gives CPU seconds per role, and idle. */
export function cpuWindow(roles: { workers: number[]; api: number }) {
  const before = sample();
  return () => {
    const after = sample();
    const split: Record<string, number> = { api: 0, workers: 0, temporal: 0, postgres: 0, other: 0 };
    for (const [pid, { comm, ticks }] of after.processes) {
      const role = roles.workers.includes(pid)
        ? 'workers'
        : pid === roles.api
          ? 'api'
          : comm.startsWith('temporal')
            ? 'temporal'
            : comm.startsWith('postgres')
              ? 'postgres'
              : 'other';
      split[role]! += ticks - (before.processes.get(pid)?.ticks ?? 0);
    }
    split.idle = after.idleTicks - before.idleTicks;
    return Object.fromEntries(Object.entries(split).map(([k, v]) => [k, Math.round(v / TICKS_PER_SECOND)]));
  };
}
