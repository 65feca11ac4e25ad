/** What the bench reads of the machine and the database beside its timings (Linux /proc). */
import { readdirSync, readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Db } from '../src/db/connect';

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

/**
 * Where the machine's CPU went during a window, by process: a bench on one machine shares its
 * cores between the API, the workers, the Temporal server and PostgreSQL, and its figures only
 * make sense beside that split. Processes that exit inside the window count only through their
 * parent (PostgreSQL's backends through the postmaster). Starts a window; the returned function ends it and gives CPU seconds per role, and idle. */
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

/** Megabytes of the service's tables and of their indexes. */
export async function sizes(db: Db) {
  const { rows } = await sql<{ tables: string; indexes: string }>`
    select sum(pg_table_size(c.oid)) as tables, sum(pg_indexes_size(c.oid)) as indexes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r'`.execute(db);
  const mb = (bytes: string) => round(Number(bytes) / 1024 / 1024);
  return { tableMb: mb(rows[0]!.tables), indexMb: mb(rows[0]!.indexes) };
}

export function round(x: number) {
  return Math.round(x * 100) / 100;
}

export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
  return Math.round(kb / 1024);
}
