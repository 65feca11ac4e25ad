/**
 * Everything a handover integration test runs on: its own database, a loopback SMTP server,
 * the shared Temporal dev server with a worker on a task queue of its own, and the API.
 */
import type { Worker, WorkerOptions } from '@temporalio/worker';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import type { Db } from '../../src/db/connect';
import type { AgentRole, AgentStatus, Locale } from '../../src/db/schema';
import { createMailer } from '../../src/mail/transport';
import { createHandoverWorker } from '../../src/worker/worker';
import { ADMIN_TOKEN, buildTestApi, type TestApi } from './api';
import { createTestDatabase, type TestDatabase } from './database';
import { recordHistories } from './histories';
import { startTestSmtp, type TestSmtp } from './smtp';
import { connectTemporal, uniqueTaskQueue, workflowBundle } from './temporal';

export interface HandoverEnv {
  database: TestDatabase;
  db: Db;
  smtp: TestSmtp;
  temporal: Awaited<ReturnType<typeof connectTemporal>>;
  api: TestApi;
  env: Record<string, string>;
  startWorker(interceptors?: WorkerOptions['interceptors']): Promise<RunningWorker>;
  close(): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

export async function createHandoverEnv(label: string, extraEnv: Record<string, string> = {}): Promise<HandoverEnv> {
  const [database, smtp, temporal] = await Promise.all([createTestDatabase(label), startTestSmtp(), connectTemporal()]);
  const env = {
    ADMIN_TOKEN,
    SMTP_URL: smtp.url,
    TEMPORAL_TASK_QUEUE: uniqueTaskQueue(label),
    MAIL_FROM: 'handover@test.local',
    ...extraEnv,
  };
  const config = loadConfig(env);
  const api = await buildTestApi(database.db, temporal.client, env);
  const bundle = await workflowBundle();
  const workers: RunningWorker[] = [];
  return {
    database,
    db: database.db,
    smtp,
    temporal,
    api,
    env,
    async startWorker(interceptors) {
      const mailer = createMailer({ smtpUrl: smtp.url, from: config.mailFrom, outboxDir: '' });
      const worker = await createHandoverWorker({
        connection: temporal.nativeConnection,
        db: database.db,
        mailer,
        config,
        workflowBundle: bundle,
        interceptors,
      });
      const running = worker.run();
      const handle: RunningWorker = {
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
          mailer.close();
        },
      };
      workers.push(handle);
      return handle;
    },
    async close() {
      if (process.env.RECORD_HISTORIES) {
        await recordHistories(label, database.db, temporal.client, env.TEMPORAL_TASK_QUEUE);
      }
      for (const w of workers) await w.stop().catch(() => undefined);
      await api.app.close();
      await temporal.close();
      await smtp.close();
      await database.drop();
    },
  };
}

let n = 0;
const next = (label: string) => `${label}-${++n}`;

export async function seedOffice(db: Db, name = next('office')): Promise<string> {
  return (await db.insertInto('offices').values({ name }).returning('id').executeTakeFirstOrThrow()).id;
}

export async function seedAgent(
  db: Db,
  officeId: string,
  opts: { name?: string; role?: AgentRole; status?: AgentStatus; locale?: Locale } = {},
): Promise<string> {
  const name = opts.name ?? next('agent');
  const row = await db
    .insertInto('agents')
    .values({
      office_id: officeId,
      name,
      email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.test`,
      role: opts.role ?? 'agent',
      status: opts.status ?? 'active',
      locale: opts.locale ?? 'en',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * `count` customers owned by `ownerId`: every 10th unsubscribed, every 20th in the trash, each with
 * `records` records (the first one done, the others open and assigned to the owner).
 */
export async function seedBook(db: Db, officeId: string, ownerId: string, count: number, records = 2): Promise<void> {
  await sql`
    insert into customers (office_id, owner_id, name, kind, subscribed, trashed_at, purge_after)
    select ${officeId}, ${ownerId}, 'customer ' || i, 'buyer', i % 10 <> 0,
           case when i % 20 = 0 then now() end, case when i % 20 = 0 then now() + interval '14 days' end
    from generate_series(1, ${count}) as i`.execute(db);
  if (records > 0) {
    await sql`
      insert into customer_records (customer_id, type, title, assignee_id, status)
      select c.id, 'task', 'record ' || r, ${ownerId}, case when r = 1 then 'done' else 'open' end
      from customers c cross join generate_series(1, ${records}) as r
      where c.owner_id = ${ownerId}`.execute(db);
  }
}

export async function seedCallback(db: Db, assigneeId: string, startsInMinutes: number, durationMinutes = 30) {
  const starts = new Date(Date.now() + startsInMinutes * 60_000);
  const ends = new Date(starts.getTime() + durationMinutes * 60_000);
  return (
    await db
      .insertInto('callbacks')
      .values({
        name: next('caller'),
        phone: '+81-3-0000-0000',
        starts_at: starts,
        ends_at: ends,
        assignee_id: assigneeId,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
}

export async function waitFor<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== undefined) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

/**
 * Until no workflow on the env's task queue runs. A handover's row settles before its last mail (the
 * `finished` notification), so the database can still change right after `completed`: a test that
 * snapshots it to prove a request changed nothing waits for this first.
 */
export async function untilWorkflowsEnd(env: HandoverEnv, timeoutMs = 60_000): Promise<void> {
  const query = `TaskQueue = "${env.env.TEMPORAL_TASK_QUEUE}" AND ExecutionStatus = "Running"`;
  await waitFor(
    `the workflows on ${env.env.TEMPORAL_TASK_QUEUE} to end`,
    async () => ((await env.temporal.client.workflow.count(query)).count === 0 ? true : undefined),
    timeoutMs,
  );
}

/** Polls GET /v1/handovers/{id} until its status is one of `statuses`. */
export async function waitForStatus(api: TestApi, id: string, statuses: string[], timeoutMs = 60_000) {
  let last = '';
  return waitFor(
    () => `handover ${id} to be ${statuses.join('|')} (last: ${last})`,
    async () => {
      const res = await api.call('GET', `/v1/handovers/${id}`);
      const body = res.json();
      last = `${body.status}/${body.phase}`;
      return statuses.includes(body.status) ? body : undefined;
    },
    timeoutMs,
  );
}
