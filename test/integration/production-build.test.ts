/**
 * The production shape of one instance: `npm run build` compiles to dist/, the worker runs
 * `node dist/worker.js` with the workflow code from the prebuilt bundle (no webpack at start) and
 * the API `node dist/api.js`. An operator scrapes both during a handover: the API's /metrics
 * (latency by route, handovers started and finished, entities moved, ledger rows still to move,
 * outbox) and the worker's Prometheus endpoint (the Temporal SDK's metrics and entities changed).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/temporal/dev-server';
import { createHandoverEnv, type HandoverEnv, seedBook } from '../helpers/handover-env';
import { lockLastCustomer, waitForApplied } from '../helpers/locks';
import { offboard, seedTeam } from '../helpers/offboard-api';
import { killAllServices, postHandover, type ServiceProcess, spawnService } from '../helpers/processes';
import { temporalAddress } from '../helpers/temporal';

let env: HandoverEnv;
let api: ServiceProcess;
let apiUrl: string;
let workerMetrics: string;

beforeAll(async () => {
  env = await createHandoverEnv('production_build', { MOVE_BATCH_SIZE: '10', MOVE_LANES: '1' });
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { stdio: 'pipe' });
  const common = {
    ...env.env,
    DATABASE_URL: env.database.url,
    TEMPORAL_ADDRESS: temporalAddress(),
    WORKFLOW_BUNDLE_PATH: '', // the one beside the compiled code
  };
  const metricsPort = await freePort();
  const worker = spawnService(process.execPath, ['dist/worker.js'], {
    ...common,
    WORKER_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
  });
  const workflows = await worker.waitFor(/workflow code: (.*)/);
  expect(workflows[1]).toMatch(/^the prebuilt bundle .*dist\/workflow-bundle\.js$/);
  workerMetrics = (await worker.waitFor(/worker metrics: (http:\S+)/))[1]!;
  api = spawnService(process.execPath, ['dist/api.js'], { ...common, PORT: '0' });
  apiUrl = (await api.waitFor(/API listening on (http:\/\/\S+)/))[1]!;
}, 120_000);
afterAll(async () => {
  await killAllServices();
  await env?.close();
});

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of the first sample of `name` whose labels include every one of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
    if (has) return Number(m[3]);
  }
  return undefined;
}

test('a handover through the compiled API and worker moves every counter an operator watches', async () => {
  const team = await seedTeam(env);
  await seedBook(env.db, team.office, team.leaver, 30, 2); // 30 customers, each with one open record
  const before = await scrape(`${apiUrl}/metrics`);
  expect(sample(before, 'handover_handovers_started_total', { kind: 'offboard' }) ?? 0).toBe(0);
  expect(sample(before, 'handover_ledger_rows_to_move')).toBe(0);

  const lock = await lockLastCustomer(env, team.leaver); // hold the move near its end, to scrape mid-way
  const started = await postHandover(apiUrl, offboard(team.leaver, { agentId: team.successor }));
  expect(started.status).toBe(202);
  const { id } = started.body;
  await waitForApplied(env.db, id, 20);
  const during = await scrape(`${apiUrl}/metrics`);
  expect(sample(during, 'handover_handovers_open', { kind: 'offboard', status: 'running' })).toBe(1);
  expect(sample(during, 'handover_ledger_rows_to_move')).toBeGreaterThan(0);
  await lock.release();

  expect(await env.temporal.client.workflow.getHandle(id).result()).toMatchObject({ status: 'completed' });
  const after = await scrape(`${apiUrl}/metrics`);
  expect(sample(after, 'handover_handovers_started_total', { kind: 'offboard' })).toBe(1);
  expect(sample(after, 'handover_handovers_finished_total', { kind: 'offboard', status: 'completed' })).toBe(1);
  expect(sample(after, 'handover_handovers_open', { kind: 'offboard', status: 'running' }) ?? 0).toBe(0);
  expect(sample(after, 'handover_entities_moved_total', { entity: 'customer' })).toBe(30);
  expect(sample(after, 'handover_entities_moved_total', { entity: 'record' })).toBe(30);
  expect(sample(after, 'handover_ledger_rows_to_move')).toBe(0);
  expect(sample(after, 'handover_outbox_mails', { status: 'failed' })).toBe(0);
  expect(
    sample(after, 'handover_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/v1/handovers',
      status: '202',
    }),
  ).toBe(1);

  // The worker: the service's own counter and the SDK's, on one endpoint.
  const worker = await scrape(workerMetrics);
  expect(sample(worker, 'handover_entities_changed_total', { entity: 'customer', direction: 'apply' })).toBe(30);
  expect(sample(worker, 'temporal_workflow_completed_total')).toBeGreaterThanOrEqual(1);
  expect(sample(worker, 'temporal_activity_execution_latency_count', { activity_type: 'move' })).toBeGreaterThanOrEqual(
    1,
  );
});

test('the compiled API serves the console built into dist/console/', async () => {
  const page = await fetch(`${apiUrl}/console/agents`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  const served = await (await fetch(`${apiUrl}/console/assets/app.js`)).text();
  const built = await readFile(new URL('../../dist/console/app.js', import.meta.url), 'utf8');
  expect(served.length).toBeGreaterThan(10_000);
  expect(served).toBe(built);
});
