/**
 * What the hostile-input tests (test/integration/hostile-input-*.test.ts) share: an API on a
 * database of the test file's own, with a directory and one customer, record, callback, completed
 * handover and SCIM user for the write endpoints to aim at (`useHostileInput`, the state in
 * `hostile`); sending a request to a write endpoint authenticated as its family wants (`send`) and
 * checking the answer (`expectSafe`: never a 5xx, an error is a well-formed problem or SCIM error, a
 * refusal changes nothing); the body schemas the OpenAPI document publishes (`bodySchemaOf`); paths
 * into JSON values. The endpoints themselves are in test/helpers/write-endpoints.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { ADMIN_TOKEN, buildTestApi, type TestApi } from './api';
import { createTestDatabase, snapshotDatabase, type TestDatabase } from './database';
import { createCustomer, type Directory, expectStatus, seedDirectory } from './directory';
import type { JsonSchema } from './largest-body';
import { connectTemporal, uniqueTaskQueue } from './temporal';
import type { Endpoint } from './write-endpoints';

const SCIM_TOKEN = 'test-scim-token';
const HR_KEY = randomBytes(32);
const HR_SECRET = `whsec_${HR_KEY.toString('base64')}`;
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const OFFICE_EXT = 'hostile-office-ext';
export const MISSING = '00000000-0000-0000-0000-000000000000';

export interface Hostile {
  database: TestDatabase;
  temporal: Awaited<ReturnType<typeof connectTemporal>>;
  api: TestApi;
  d: Directory;
  ids: {
    customer: string;
    record: string;
    callback: string;
    handover: string;
    scimUser: string;
  };
}

/** Filled in by the beforeAll of `useHostileInput`: read it in tests and hooks, never while the file is collected. */
export const hostile = {} as Hostile;

/** The test file's database, API and targets: set up before its tests, closed and dropped after them. */
export function useHostileInput(label: string): void {
  beforeAll(async () => {
    const [database, temporal] = await Promise.all([createTestDatabase(label), connectTemporal()]);
    Object.assign(hostile, { database, temporal });
    // A task queue nobody polls: a handover that starts anyway is never worked on.
    const api = await buildTestApi(database.db, temporal.client, {
      SCIM_TOKEN,
      HR_WEBHOOK_SECRET: HR_SECRET,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('hostile'),
    });
    hostile.api = api;
    const d = await seedDirectory(api);
    hostile.d = d;
    expectStatus(await api.call('POST', '/v1/offices', { name: 'SCIM office', externalId: OFFICE_EXT }), 201);
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const record = expectStatus(
      await api.call('POST', `/v1/customers/${customer}/records`, { type: 'task', title: 'Call' }),
      201,
    ).id;
    const callback = expectStatus(
      await api.call('POST', '/v1/callbacks', {
        customerId: customer,
        name: 'Caller',
        phone: '+81 3 0000 0000',
        startsAt: '2030-01-01T09:00:00Z',
        endsAt: '2030-01-01T10:00:00Z',
        assigneeId: d.agentA.id,
      }),
      201,
    ).id;
    const handover = 'handover-hostile-completed';
    await database.db
      .insertInto('handovers')
      .values({
        id: handover,
        kind: 'offboard',
        agent_id: d.agentA2.id,
        office_id: d.officeA,
        request: JSON.stringify({ kind: 'offboard', agentId: d.agentA2.id, to: { unassign: true } }),
        request_hash: 'seeded',
        started_by: 'org-admin',
        status: 'completed',
        phase: 'done',
        finished_at: new Date(),
      })
      .execute();
    const scimUser = await api.app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({
        schemas: [USER_SCHEMA, ENTERPRISE],
        userName: 'scim.user@example.test',
        displayName: 'SCIM User',
        [ENTERPRISE]: { department: OFFICE_EXT },
      }),
    });
    expect(scimUser.statusCode, scimUser.body).toBe(201);
    hostile.ids = { customer, record, callback, handover, scimUser: scimUser.json().id };
  });

  afterAll(async () => {
    await hostile.api?.app.close();
    await hostile.temporal?.close();
    await hostile.database?.drop();
  });
}

export const snapshot = () => snapshotDatabase(hostile.database.db);

/** A value no other call of the file made: names and externalIds stay unique. */
let n = 0;
export const uniq = (label: string) => `${label}-${Date.now().toString(36)}-${++n}`;

// ---------------------------------------------------------------------------------------------
// Paths into JSON values

export type Path = Array<string | number>;

export function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node;
}

export type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean';
export const jsonType = (v: unknown): JsonType =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as 'object' | 'string' | 'number' | 'boolean');

/**
 * Every node of a JSON value (not the root), and every object node (root included). Collected into
 * one pair of arrays, never spread: a huge array from an earlier mutation would overflow the stack.
 */
export function nodes(value: unknown, at: Path = [], found = { leaves: [] as Path[], objects: [] as Path[] }) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      found.leaves.push([...at, i]);
      nodes(v, [...at, i], found);
    });
  } else if (value !== null && typeof value === 'object') {
    found.objects.push(at);
    for (const [k, v] of Object.entries(value)) {
      found.leaves.push([...at, k]);
      nodes(v, [...at, k], found);
    }
  }
  return found;
}

export function setAt(root: unknown, path: Path, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

// ---------------------------------------------------------------------------------------------
// Sending and checking

export interface Raw {
  /** Path parameter segments, already percent-encoded (default: the endpoint's real ones). */
  segments?: string[];
  payload?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
}

/** Every byte percent-encoded: any string, lone surrogates included, makes a valid URL segment. */
export const encodeSegment = (s: string) =>
  [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

function urlOf(ep: Endpoint, segments: string[]): string {
  let i = 0;
  return ep.route.replace(/\{[^}]+\}/g, () => segments[i++] ?? '');
}

export function send(ep: Endpoint, raw: Raw): Promise<LightMyRequestResponse> {
  const segments = raw.segments ?? ep.params().map(encodeSegment);
  const headers: Record<string, string> = { ...raw.headers };
  const contentType =
    raw.contentType === undefined
      ? ep.family === 'scim'
        ? 'application/scim+json'
        : 'application/json'
      : raw.contentType;
  if (raw.payload !== undefined && contentType !== null) headers['content-type'] = contentType;
  if (ep.family === 'v1') headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  if (ep.family === 'scim') headers.authorization = `Bearer ${SCIM_TOKEN}`;
  if (ep.family === 'hr') {
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = raw.payload ?? '';
    const signature = createHmac('sha256', HR_KEY).update(`${id}.${timestamp}.${body}`).digest('base64');
    Object.assign(headers, {
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${signature}`,
    });
  }
  return hostile.api.app.inject({
    method: ep.method,
    url: urlOf(ep, segments),
    headers,
    ...(raw.payload === undefined ? {} : { payload: raw.payload }),
  });
}

export const describeResponse = (res: LightMyRequestResponse) =>
  `${res.statusCode} ${res.headers['content-type']} ${res.body.slice(0, 500)}`;

/** Never a 5xx; an error is a well-formed problem (or SCIM error); a refusal changes nothing. */
export async function expectSafe(ep: Endpoint, raw: Raw): Promise<number> {
  const before = await snapshot();
  const res = await send(ep, raw);
  const status = res.statusCode;
  expect(status, describeResponse(res)).toBeLessThan(500);
  expect(status, describeResponse(res)).toBeGreaterThanOrEqual(200);
  if (status >= 400) {
    if (ep.family === 'scim') {
      expect(res.headers['content-type'], describeResponse(res)).toMatch(/^application\/scim\+json/);
      expect(res.json(), describeResponse(res)).toMatchObject({
        schemas: [SCIM_ERROR],
        status: String(status),
        detail: expect.any(String),
      });
    } else {
      expect(res.headers['content-type'], describeResponse(res)).toMatch(/^application\/problem\+json/);
      expect(res.json(), describeResponse(res)).toMatchObject({
        type: expect.any(String),
        title: expect.any(String),
        status,
        detail: expect.any(String),
      });
    }
  }
  if (status >= 400 || ep.readOnly) {
    expect(
      await snapshot(),
      `${ep.method} ${ep.route} answered ${describeResponse(res)} but changed the database`,
    ).toBe(before);
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// The body schemas the OpenAPI document publishes

interface OpenApiDoc {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}
let openApi: OpenApiDoc | undefined;

/** The JSON Schema the OpenAPI document gives the body of `ep` (undefined: it takes none). */
export async function bodySchemaOf(ep: Pick<Endpoint, 'method' | 'route'>): Promise<JsonSchema | undefined> {
  openApi ??= expectStatus(await hostile.api.call('GET', '/docs/json'), 200) as OpenApiDoc;
  return openApi.paths[ep.route]?.[ep.method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
}
