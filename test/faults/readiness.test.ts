/**
 * The operations endpoints of a real API process (API.md, "Operations"), against real dependencies
 * that really go away: `GET /readyz` is 200 while the database and Temporal answer and 503 (a
 * problem, like every error) while one does not — a Temporal dev server of its own that is SIGKILLed
 * and started again on the same port, and a database reached through a loopback TCP proxy that is
 * shut (every connection cut, nobody listening) and opened again. `GET /healthz` answers 200 all along
 * (liveness); `GET /docs` and `GET /docs/json` serve the OpenAPI UI and document.
 */
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';
import { freePort } from '../../src/temporal/dev-server';
import { ADMIN_TOKEN } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/handover-env';
import { killAllServices, type ServiceProcess, spawnService } from '../helpers/processes';
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy';

let database: TestDatabase;
let temporal: ServiceProcess;
let temporalPort: number;
let dbProxy: TcpProxy;
let apiUrl: string;

/** `temporal server start-dev` on `port`, headless, in memory; resolves once it answers. */
async function startTemporal(port: number): Promise<ServiceProcess> {
  const cli = resolveTemporalCli({ build: false });
  if (!cli) throw new Error('no temporal CLI (.tools/bin/temporal, PATH or TEMPORAL_CLI_PATH)');
  const server = spawnService(
    cli,
    ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'error'],
    {},
  );
  await waitFor(`the Temporal dev server on port ${port}`, async () => {
    if (server.child.exitCode !== null) throw new Error(`temporal exited:\n${server.output()}`);
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
      await connection.close();
      return true;
    } catch {
      return undefined;
    }
  });
  return server;
}

interface Readiness {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

async function readyz(): Promise<Readiness> {
  const response = await fetch(`${apiUrl}/readyz`);
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** Polls /readyz until it answers `status` (a dependency that comes back reconnects with a backoff). */
const readyzBecomes = (status: number) =>
  waitFor(`/readyz to answer ${status}`, async () => {
    const r = await readyz();
    return r.status === status ? r : undefined;
  });

async function healthz() {
  const response = await fetch(`${apiUrl}/healthz`);
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  database = await createTestDatabase('readiness');
  temporalPort = await freePort();
  temporal = await startTemporal(temporalPort);
  const viaProxy = new URL(database.url);
  dbProxy = await tcpProxy(Number(viaProxy.port || 5432), viaProxy.hostname);
  viaProxy.host = dbProxy.address;
  const api = spawnService(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    ADMIN_TOKEN,
    DATABASE_URL: viaProxy.toString(),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    PORT: '0',
  });
  apiUrl = (await api.waitFor(/API listening on (http:\/\/\S+)/))[1]!;
}, 120_000);

afterAll(async () => {
  await killAllServices();
  await dbProxy?.close();
  await database?.drop();
});

test('with the database and Temporal up: /readyz 200, /healthz 200 {status: "ok"}', async () => {
  const ready = await readyz();
  expect(ready.status).toBe(200);
  expect(ready.body).toEqual({ status: 'ready', database: true, temporal: true });
  expect(await healthz()).toEqual({ status: 200, body: { status: 'ok' } });
});

test('Temporal killed: /readyz 503 (problem+json naming Temporal) while /healthz stays 200; restarted on the same port: 200 again', async () => {
  await temporal.kill();
  const down = await readyz();
  expect(down.status).toBe(503);
  expect(down.contentType).toMatch(/^application\/problem\+json/);
  expect(down.body).toMatchObject({
    status: 503,
    title: 'Service Unavailable',
    detail: expect.stringContaining('Temporal'),
    database: true,
    temporal: false,
  });
  expect(down.body.detail).not.toContain('database');
  expect(await healthz()).toEqual({ status: 200, body: { status: 'ok' } });

  temporal = await startTemporal(temporalPort);
  const back = await readyzBecomes(200);
  expect(back.body).toEqual({ status: 'ready', database: true, temporal: true });
});

test('the database unreachable: /readyz 503 (problem+json naming the database) while /healthz stays 200; reachable again: 200', async () => {
  await dbProxy.shut();
  const down = await readyz();
  expect(down.status).toBe(503);
  expect(down.contentType).toMatch(/^application\/problem\+json/);
  expect(down.body).toMatchObject({
    status: 503,
    title: 'Service Unavailable',
    detail: expect.stringContaining('the database'),
    database: false,
    temporal: true,
  });
  expect(await healthz()).toEqual({ status: 200, body: { status: 'ok' } });

  await dbProxy.open();
  const back = await readyzBecomes(200);
  expect(back.body).toEqual({ status: 'ready', database: true, temporal: true });
});

/** Every path the contract (API.md) names, as an OpenAPI document writes it. */
const CONTRACT_PATHS: Record<string, string[]> = {
  '/v1/offices': ['get', 'post'],
  '/v1/agents': ['get', 'post'],
  '/v1/agents/{id}': ['get', 'patch'],
  '/v1/agents/{id}/tokens': ['post'],
  '/v1/lead-sources/{key}': ['put'],
  '/v1/lead-sources': ['get'],
  '/v1/customers': ['get', 'post'],
  '/v1/customers/bulk': ['post'],
  '/v1/customers/{id}': ['get', 'delete'],
  '/v1/customers/{id}/restore': ['post'],
  '/v1/customers/{id}/records': ['get', 'post'],
  '/v1/customers/{id}/records/{recordId}': ['patch'],
  '/v1/customers/{id}/history': ['get'],
  '/v1/imports/customers': ['post'],
  '/v1/callbacks': ['get', 'post'],
  '/v1/callbacks/{id}': ['patch'],
  '/v1/handovers': ['get', 'post'],
  '/v1/handovers/preview': ['post'],
  '/v1/handovers/{id}': ['get'],
  '/v1/handovers/{id}/cancel': ['post'],
  '/v1/handovers/{id}/recheck': ['post'],
  '/v1/hr/events': ['post'],
  '/scim/v2/Users': ['get', 'post'],
  '/scim/v2/Users/{id}': ['get', 'put', 'patch'],
  '/scim/v2/ServiceProviderConfig': ['get'],
  '/v1/agents/{id}/notification-settings': ['get'],
  '/v1/agents/{id}/notification-settings/{kind}': ['put'],
  '/v1/integrity': ['get'],
  '/healthz': ['get'],
  '/readyz': ['get'],
};

test('/docs serves the OpenAPI UI as HTML; /docs/json is an OpenAPI document listing every path of the contract', async () => {
  const ui = await fetch(`${apiUrl}/docs`); // follows the UI's redirect to its page, as a browser does
  expect(ui.status).toBe(200);
  expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await ui.text()).toMatch(/<html[\s>]/i);

  const response = await fetch(`${apiUrl}/docs/json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const doc = JSON.parse(await response.text()) as { openapi?: unknown; paths?: Record<string, object> };
  expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
  const served = Object.fromEntries(
    Object.entries(doc.paths ?? {}).map(([path, operations]) => [path, Object.keys(operations).sort()]),
  );
  for (const [path, methods] of Object.entries(CONTRACT_PATHS)) {
    expect(served[path], `${path} in /docs/json`).toEqual(expect.arrayContaining(methods));
  }
});
