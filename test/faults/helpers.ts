/** Shared by the fault tests: a worker in a child process to SIGKILL, row locks, and the invariant checks. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { expect, inject } from 'vitest';
import type { Db } from '../../src/db/connect';
import type { HandoverEnv } from '../helpers/handover-env';
import { seedAgent, seedBook, seedCallback, seedOffice, waitFor } from '../helpers/handover-env';
import { ledgerCounts } from '../helpers/locks';
import type { TestSmtp } from '../helpers/smtp';

export { type HeldLock, holdLock, ledgerCounts, lockLastCustomer, waitForApplied } from '../helpers/locks';

/** An office with an admin, a leaver with `customers` customers (2 records each) and a callback, and a successor. */
export async function seedLeaverBook(env: HandoverEnv, customers: number) {
  const { db } = env;
  const office = await seedOffice(db);
  await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office);
  const successor = await seedAgent(db, office);
  await seedBook(db, office, leaver, customers, 2);
  await seedCallback(db, leaver, 30);
  return { office, leaver, successor };
}

const workerPath = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const children = new Set<ChildProcess>();

export interface WorkerProcess {
  child: ChildProcess;
  /** SIGKILL: no shutdown, no cleanup; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Starts a worker process on `env`'s database, task queue and SMTP server (or `overrides`); resolves once it polls. */
export async function spawnWorker(env: HandoverEnv, overrides: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = fork(workerPath, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      ...env.env,
      DATABASE_URL: env.database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      ...overrides,
    },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker process did not start within 60 s')), 60_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code}) before it was ready`));
    });
  });
  return { child, kill: () => killChild(child) };
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** SIGKILLs every worker process still running (afterAll). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...children].map(killChild));
}

/** The backend pids of `db`'s database that are running or waiting on a statement matching `like`. */
export async function waitForBackend(db: Db, like: string, timeoutMs = 30_000) {
  return waitFor(
    `a backend running ${like}`,
    async () => {
      const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like ${like}`.execute(
        db,
      );
      return rows.length ? rows.map((r) => r.pid) : undefined;
    },
    timeoutMs,
  );
}

interface Mismatch {
  entity: string;
  entity_id: string;
  field: string;
  expected: string | null;
  actual: string | null;
}

/**
 * The invariants a fault must not break, for one handover:
 * - every ledger row applied (and not reverted) holds its `to_value` in the entity, every reverted one its
 *   `from_value` (records that are `done` are exempt: they keep their assignee; so is an entity a later
 *   handover moved on);
 * - every customer move has exactly one history row per direction it ran (nothing moved twice, nothing
 *   moved without history);
 * - a completed offboard leaves the agent with no customer, open record or callback that has not ended,
 *   and `offboarded`;
 * - the outbox has no pending mail left; every `sent` key reached SMTP exactly once (Message-ID), failed
 *   ones not at all, and SMTP saw no Message-ID twice.
 */
export async function checkInvariants(
  db: Db,
  handoverId: string,
  leaverId: string | null,
  { smtp, temporal }: { smtp?: TestSmtp; temporal?: Client } = {},
) {
  // The workflow mails `handover-finished` after it settles the row: wait until it has ended, so every mail is in the outbox.
  if (temporal) {
    await waitFor(`workflow ${handoverId} to end`, async () => {
      const { status } = await temporal.workflow.getHandle(handoverId).describe();
      return status.name === 'RUNNING' ? undefined : true;
    });
  }
  const handover = await db
    .selectFrom('handovers')
    .select(['status', 'kind'])
    .where('id', '=', handoverId)
    .executeTakeFirstOrThrow();

  const { rows: mismatches } = await sql<Mismatch>`
    with m as (select * from handover_moves where handover_id = ${handoverId} and applied_at is not null),
    actual as (
      select m.*, c.owner_id as actual, true as counts from m join customers c on m.entity = 'customer' and m.field = 'owner_id' and c.id = m.entity_id
      union all
      select m.*, c.office_id, true from m join customers c on m.entity = 'customer' and m.field = 'office_id' and c.id = m.entity_id
      union all
      select m.*, r.assignee_id, r.status = 'open' from m join customer_records r on m.entity = 'record' and r.id = m.entity_id
      union all
      select m.*, cb.assignee_id, true from m join callbacks cb on m.entity = 'callback' and cb.id = m.entity_id
      union all
      select m.*, a.office_id, true from m join agents a on m.entity = 'agent' and a.id = m.entity_id
    )
    select entity, entity_id, field, case when reverted_at is null then to_value else from_value end as expected, actual
    from actual
    where counts and actual is distinct from (case when reverted_at is null then to_value else from_value end)
      -- a later handover that moved the entity on (from the value we set) explains the difference
      and not exists (select 1 from handover_moves later where later.entity = actual.entity
        and later.entity_id = actual.entity_id and later.field = actual.field and later.seq > actual.seq
        and later.applied_at is not null and later.from_value is not distinct from actual.to_value)`.execute(db);
  expect(mismatches, 'ledger and entities disagree').toEqual([]);

  const { rows: historyGaps } = await sql<{ customer_id: string; expected: number; actual: number }>`
    with moves as (
      select entity_id, field, (applied_at is not null)::int + (reverted_at is not null)::int as expected
      from handover_moves where handover_id = ${handoverId} and entity = 'customer'),
    hist as (
      select customer_id, field, count(*)::int as actual from customer_history
      where handover_id = ${handoverId} group by customer_id, field)
    select coalesce(moves.entity_id, hist.customer_id) as customer_id, coalesce(moves.expected, 0) as expected,
           coalesce(hist.actual, 0) as actual
    from moves full join hist on hist.customer_id = moves.entity_id and hist.field = moves.field
    where coalesce(moves.expected, 0) <> coalesce(hist.actual, 0)`.execute(db);
  expect(historyGaps, 'customer history does not match the ledger').toEqual([]);

  if (handover.status === 'completed' && handover.kind === 'offboard' && leaverId) {
    const { rows } = await sql<{ customers: number; records: number; callbacks: number; status: string }>`
      select (select count(*) from customers where owner_id = ${leaverId})::int as customers,
             (select count(*) from customer_records where assignee_id = ${leaverId} and status = 'open')::int as records,
             (select count(*) from callbacks where assignee_id = ${leaverId} and ends_at > now())::int as callbacks,
             (select status from agents where id = ${leaverId}) as status`.execute(db);
    expect(rows[0], 'the offboarded agent still has something').toEqual({
      customers: 0,
      records: 0,
      callbacks: 0,
      status: 'offboarded',
    });
    const ledger = await ledgerCounts(db, handoverId);
    const conflicts = await db
      .selectFrom('handover_moves')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('handover_id', '=', handoverId)
      .where('conflict', 'is not', null)
      .executeTakeFirstOrThrow();
    expect(ledger.applied + Number(conflicts.n), 'planned moves neither applied nor reported').toBe(ledger.planned);
  }

  // Mail: wait until the outbox of this handover has nothing pending, then compare it with what SMTP got.
  const outbox = await waitFor(
    `the outbox of ${handoverId} to settle`,
    async () => {
      const rows = await db
        .selectFrom('notification_outbox')
        .select(['key', 'status'])
        .where('handover_id', '=', handoverId)
        .execute();
      return rows.some((r) => r.status === 'pending') ? undefined : rows;
    },
    30_000,
  );
  if (smtp) {
    const ids = smtp.mails.map((m) => m.messageId);
    const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(dupes, 'SMTP received a Message-ID twice').toEqual([]);
    for (const row of outbox) {
      const received = ids.filter((id) => id === `<${row.key}@handover>`).length;
      expect({ key: row.key, received }).toEqual({ key: row.key, received: row.status === 'sent' ? 1 : 0 });
    }
  }
  return { status: handover.status, outbox };
}
