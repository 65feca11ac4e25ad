/**
 * Fault: the Temporal server restarts mid-handover. A dev server of its own persisting to a SQLite file
 * (`--db-filename`), on a fixed port; the handover is held blocked on a lead source, the server is
 * stopped and started again on the same file and port, the lead source is rerouted, a recheck → completes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type DevServer, freePort, startDevServer } from '../../src/temporal/dev-server';
import { buildTestApi, type TestApi } from '../helpers/api';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedCallback,
  seedOffice,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { checkInvariants, killAllWorkers, spawnWorker, type WorkerProcess } from './helpers';

let env: HandoverEnv;
let dir: string;
let server: DevServer | undefined;
let connection: Connection | undefined;
let api: TestApi | undefined;

beforeAll(async () => {
  env = await createHandoverEnv('fault_temporal');
  dir = await mkdtemp(join(tmpdir(), 'handover-fault-temporal-'));
});
afterAll(async () => {
  await killAllWorkers();
  await api?.app.close();
  await connection?.close().catch(() => undefined);
  await server?.stop();
  await env?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the Temporal server restarts while a handover is blocked: it resumes from the persisted history and completes', async () => {
  const dbFilename = join(dir, 'temporal.db');
  const port = await freePort();
  server = await startDevServer({ dbFilename, port });
  connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  api = await buildTestApi(env.db, client, env.env);
  let worker: WorkerProcess = await spawnWorker(env, { TEMPORAL_ADDRESS: server.address });

  const { db } = env;
  const office = await seedOffice(db);
  await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office);
  const successor = await seedAgent(db, office);
  await seedBook(db, office, leaver, 20, 2);
  await seedCallback(db, leaver, 30);
  const key = `portal-${leaver}`;
  await db
    .insertInto('lead_sources')
    .values({ key, name: 'Portal', office_id: office, default_assignee_id: leaver })
    .execute();
  const { id } = expectStatus(
    await api.call('POST', '/v1/handovers', {
      kind: 'offboard',
      agentId: leaver,
      to: { agentId: successor },
      options: { recheckIntervalSeconds: 3600 },
    }),
    202,
  );
  await waitForStatus(api, id, ['blocked']);

  await server.stop();
  server = await startDevServer({ dbFilename, port });
  expect(server.address).toBe(`127.0.0.1:${port}`);
  // The worker process may or may not outlive a server that went away; if it did not, start another.
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
    console.info(
      `the worker process exited (${worker.child.exitCode}) while the Temporal server was down; starting another`,
    );
    worker = await spawnWorker(env, { TEMPORAL_ADDRESS: server.address });
  }
  const described = await waitFor('the workflow after the restart', () =>
    client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined),
  );
  expect(described.status.name).toBe('RUNNING');

  await db.updateTable('lead_sources').set({ default_assignee_id: successor }).where('key', '=', key).execute();
  await waitFor('the recheck to be accepted', async () => {
    const res = await api!.call('POST', `/v1/handovers/${id}/recheck`);
    return res.statusCode === 202 ? true : undefined;
  });
  const done = await waitForStatus(api, id, ['completed', 'compensated', 'failed'], 60_000);
  expect(done.status).toBe('completed');
  expect(done.summary).toMatchObject({ customers: 20, records: 20, callbacks: 1 });
  expect(worker.child.exitCode).toBe(null);
  await checkInvariants(db, id, leaver, { smtp: env.smtp, temporal: client });
});
