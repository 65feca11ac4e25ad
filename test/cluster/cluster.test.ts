/**
 * The production shape, for real: a Temporal cluster on PostgreSQL (frontend, history, matching
 * and worker services as separate processes, deploy/temporal/'s configuration), two worker
 * processes and two API instances on one database. One cluster for the file; its databases are
 * created for it and dropped after.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Db } from '../../src/db/connect';
import { freePortBase, startCluster, type TemporalCluster } from '../../src/temporal/cluster';
import { checkInvariants, lockLastCustomer, seedLeaverBook, waitForApplied } from '../faults/helpers';
import { ADMIN_TOKEN } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { type HandoverEnv, waitFor } from '../helpers/handover-env';
import { offboard } from '../helpers/offboard-api';
import { killAllServices, postHandover, type ServiceProcess, spawnService } from '../helpers/processes';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp';

const tag = randomBytes(3).toString('hex');
const temporalDbs = [`temporal_cluster_${tag}`, `temporal_cluster_${tag}_visibility`];
const postgresUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
const TASK_QUEUE = `cluster-${tag}`;

let cluster: TemporalCluster;
let database: TestDatabase;
let db: Db;
let smtp: TestSmtp;
let connection: Connection;
let client: Client;
const workers: ServiceProcess[] = [];
const apis: Array<{ process: ServiceProcess; url: string }> = [];
let serviceEnv: Record<string, string>;

async function startWorker() {
  const worker = spawnService(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], serviceEnv);
  await worker.waitFor(/worker polling/);
  workers.push(worker);
  return worker;
}

async function startApi() {
  const api = spawnService(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], { ...serviceEnv, PORT: '0' });
  const url = (await api.waitFor(/API listening on (http:\/\/\S+)/))[1]!;
  const entry = { process: api, url };
  apis.push(entry);
  return entry;
}

beforeAll(async () => {
  [database, smtp] = await Promise.all([createTestDatabase('cluster'), startTestSmtp()]);
  db = database.db;
  cluster = await startCluster({
    postgresUrl,
    database: temporalDbs[0],
    visibilityDatabase: temporalDbs[1],
    portBase: await freePortBase(),
    maxConnections: 4, // the PostgreSQL server is shared with everything else here
  });
  connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection, namespace: 'default' });
  serviceEnv = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: cluster.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    SMTP_URL: smtp.url,
    MAIL_FROM: 'handover@test.local',
    ADMIN_TOKEN,
    MOVE_BATCH_SIZE: '25',
    MOVE_LANES: '1',
  };
  await Promise.all([startWorker(), startWorker(), startApi(), startApi()]);
}, 300_000);

afterAll(async () => {
  await killAllServices();
  await connection?.close();
  await cluster?.stop();
  await smtp?.close();
  await database?.drop();
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  for (const name of temporalDbs) await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

const env = () => ({ db, database }) as HandoverEnv;

async function finished(id: string) {
  return client.workflow.getHandle(id).result();
}

/** The identities (`pid@host`) of the workers that started the handover's activities. */
async function activityWorkers(id: string): Promise<Set<string>> {
  const identities = new Set<string>();
  const history = await client.workflow.getHandle(id).fetchHistory();
  for (const event of history.events ?? []) {
    const identity = event.activityTaskStartedEventAttributes?.identity;
    if (identity) identities.add(identity);
  }
  return identities;
}

/** The attempt and worker of an activity's last start (history records no earlier attempt). */
async function lastStartOf(id: string, activity: string): Promise<{ attempt: number; identity: string }> {
  const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
  const started = events.find(
    (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(scheduled?.eventId ?? '-'),
  )?.activityTaskStartedEventAttributes;
  return { attempt: started?.attempt ?? 0, identity: started?.identity ?? '' };
}

const pidOf = (identity: string) => Number(identity.split('@')[0]);

describe('on a Temporal cluster with two workers and two APIs', () => {
  test('50 handovers through both APIs spread over both workers; every invariant holds after', async () => {
    const teams = [];
    for (let i = 0; i < 50; i++) teams.push(await seedLeaverBook(env(), 10));
    const started = await Promise.all(
      teams.map((t, i) => postHandover(apis[i % 2]!.url, offboard(t.leaver, { agentId: t.successor }))),
    );
    expect(started.map((s) => s.status)).toEqual(teams.map(() => 202));
    const results = await Promise.all(started.map((s) => finished(s.body.id)));
    expect(results.map((r) => (r as { status: string }).status)).toEqual(teams.map(() => 'completed'));
    for (const [i, s] of started.entries()) {
      await checkInvariants(db, s.body.id, teams[i]!.leaver, { smtp, temporal: client });
    }
    const identities = new Set<string>();
    for (const s of started) for (const id of await activityWorkers(s.body.id)) identities.add(id);
    expect([...identities].map(pidOf).sort()).toEqual(workers.map((w) => w.child.pid).sort());
  });

  test('the worker running the move is SIGKILLed: the other one finishes it, nothing lost or doubled', async () => {
    const team = await seedLeaverBook(env(), 200);
    const lock = await lockLastCustomer(env(), team.leaver);
    const { body } = await postHandover(apis[0]!.url, offboard(team.leaver, { agentId: team.successor }));
    await waitForApplied(db, body.id, 150);
    const { raw } = await client.workflow.getHandle(body.id).describe();
    const move = raw.pendingActivities?.find((a) => a.activityType?.name === 'move');
    expect(move?.lastWorkerIdentity).toBeTruthy();
    const victim = workers.find((w) => w.child.pid === pidOf(move!.lastWorkerIdentity!))!;
    await victim.kill();
    workers.splice(workers.indexOf(victim), 1);
    await lock.release();
    // The move's heartbeat times out (30 s) and the activity is retried on the surviving worker.
    expect(await finished(body.id)).toMatchObject({ status: 'completed' });
    // History keeps only an activity's last attempt: the move's, a retry, was started by the survivor.
    const moveStarted = await lastStartOf(body.id, 'move');
    expect(moveStarted.attempt).toBeGreaterThan(1);
    expect(pidOf(moveStarted.identity)).toBe(workers[0]!.child.pid);
    expect(moveStarted.identity).not.toBe(move!.lastWorkerIdentity);
    await checkInvariants(db, body.id, team.leaver, { smtp, temporal: client });
    await startWorker(); // two again, for the tests after
  });

  test('the history service restarts mid-move: the handover resumes and completes', async () => {
    const team = await seedLeaverBook(env(), 100);
    const lock = await lockLastCustomer(env(), team.leaver);
    const { body } = await postHandover(apis[1]!.url, offboard(team.leaver, { agentId: team.successor }));
    await waitForApplied(db, body.id, 50);
    await cluster.restart('history');
    await lock.release();
    expect(await finished(body.id)).toMatchObject({ status: 'completed' });
    await checkInvariants(db, body.id, team.leaver, { smtp, temporal: client });
  });

  test('an API instance dies between accepting and answering: the retry on the other, same key, gets one handover', async () => {
    const team = await seedLeaverBook(env(), 20);
    const key = `retry-${tag}`;
    // With the frontend down, the first API records the handover and then waits on the workflow start.
    await cluster.kill('frontend');
    const first = postHandover(apis[0]!.url, offboard(team.leaver, { agentId: team.successor }), key).catch(
      (err: Error) => err,
    );
    const row = await waitFor('the handover row of the first attempt', () =>
      db.selectFrom('handovers').select(['id', 'status']).where('agent_id', '=', team.leaver).executeTakeFirst(),
    );
    await apis[0]!.process.kill();
    expect(await first).toBeInstanceOf(Error); // no answer: the connection died with the process
    await cluster.restart('frontend');

    const retried = await postHandover(apis[1]!.url, offboard(team.leaver, { agentId: team.successor }), key);
    expect(retried).toMatchObject({ status: 200, body: { id: row.id } });
    expect(await finished(row.id)).toMatchObject({ status: 'completed' });
    const rows = await db.selectFrom('handovers').select('id').where('agent_id', '=', team.leaver).execute();
    expect(rows).toEqual([{ id: row.id }]);
    await checkInvariants(db, row.id, team.leaver, { smtp, temporal: client });
  });
});
