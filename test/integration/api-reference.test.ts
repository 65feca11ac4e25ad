/**
 * docs/API.md is the repository's API reference: its route index and the OpenAPI document the API
 * serves at /docs/json list the same operations, and every route the reference names elsewhere is
 * in the index. /docs, /docs/json and /metrics answer.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTemporal } from '../helpers/temporal';

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;
beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('api_reference'), connectTemporal()]);
  api = await buildTestApi(database.db, temporal.client);
});
afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

const SERVED_BESIDE = ['GET /docs', 'GET /docs/json', 'GET /metrics', 'GET /console', 'GET /console/{}'];
/** `METHOD /path` in backticks, query string and trailing text dropped, parameters as `{}`. */
const operations = (text: string) =>
  [...text.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)[^`]*`/g)].map(
    ([, method, path]) => `${method} ${path!.replace(/\{[^}]+\}/g, '{}')}`,
  );

test('the route index of docs/API.md is exactly the OpenAPI document’s operations', async () => {
  const reference = await readFile(new URL('../../docs/API.md', import.meta.url), 'utf8');
  const [body, index] = reference.split('\n## Route index\n');
  expect(index, 'docs/API.md has a route index').toBeDefined();
  const indexed = operations(
    index!
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .join('\n'),
  );

  const response = await api.call('GET', '/docs/json', undefined, null);
  expect(response.statusCode).toBe(200);
  const doc = response.json() as { paths: Record<string, Record<string, unknown>> };
  const served = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`),
  );
  expect(served.length).toBeGreaterThan(30);
  expect([...indexed].sort()).toEqual([...served].sort());

  // Every route the reference names in its prose and tables is one the API serves.
  const named = new Set(operations(body!));
  expect(named.size).toBeGreaterThan(20);
  for (const op of named) expect([...served, ...SERVED_BESIDE], op).toContain(op);
});

test('/docs, /docs/json and /metrics answer without a token', async () => {
  expect((await api.call('GET', '/docs', undefined, null)).statusCode).toBeLessThan(400);
  expect((await api.call('GET', '/docs/json', undefined, null)).headers['content-type']).toContain('application/json');
  const metrics = await api.call('GET', '/metrics', undefined, null);
  expect(metrics.statusCode).toBe(200);
  expect(metrics.body).toContain('# TYPE handover_handovers_started_total counter');
});

test('/console serves its page for every path under it, its files, and nothing else, under a strict CSP', async () => {
  for (const path of ['/console', '/console/agents', '/console/handovers/some-id']) {
    const page = await api.call('GET', path, undefined, null);
    expect(page.statusCode, path).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/console/assets/app.js');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  }
  const script = await api.call('GET', '/console/assets/app.js', undefined, null);
  expect(script.statusCode).toBe(200);
  expect(script.headers['content-type']).toContain('text/javascript');
  expect((await api.call('GET', '/console/assets/app.css', undefined, null)).headers['content-type']).toContain(
    'text/css',
  );
  const missing = await api.call('GET', '/console/assets/../../package.json', undefined, null);
  expect(missing.statusCode).not.toBe(200);
  const unknown = await api.call('GET', '/console/assets/secrets.env', undefined, null);
  expect(unknown.statusCode).toBe(404);
  expect(unknown.headers['content-type']).toContain('application/problem+json');
});
