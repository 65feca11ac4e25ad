/**
 * Property-based hostile input against every write endpoint (POST/PUT/PATCH/DELETE under /v1/ and
 * /scim/v2, listed from the OpenAPI document so a new endpoint without a row here fails the test):
 * mutated valid bodies (wrong types, unknown fields, huge arrays, deep nesting, unicode, control
 * characters including NUL, SQL-looking strings), random JSON, non-JSON bodies and wrong content
 * types, hostile path parameters. Every answer is a success or a 4xx error body (problem+json; SCIM
 * routes a SCIM error in application/scim+json), never a 5xx, and a refusal leaves every table
 * exactly as it was (a checksum of all rows of all tables before and after). The properties draw
 * from the run's seed (test/setup/global.ts prints it; FC_SEED replays it), and every
 * counterexample found so far runs first as a fixed example.
 *
 * Two rules of API.md's Conventions are checked from the rules themselves, not from the code:
 * - "Bodies are validated strictly and never coerced": a table of valid bodies (each route, each
 *   handover kind and HR event type), every field set to each value of another JSON type → 400
 *   naming that field, nothing changes; the valid body itself succeeds.
 * - "Each route accepts bodies up to what its largest valid input needs, no more (413 past
 *   that)": the largest valid body of each route is built from the schema the OpenAPI document
 *   publishes (test/helpers/largest-body.ts), with the bounds API.md fixes checked against it; that
 *   body is read, and one 10% and 4 KiB past it is 413 and changes nothing.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_TOKEN, buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, snapshotDatabase, type TestDatabase } from '../helpers/database';
import {
  createAgent,
  createCustomer,
  type Directory,
  expectStatus,
  seedDirectory,
  setStatus,
} from '../helpers/directory';
import { bytes, type JsonSchema, LargestBodies, Unbounded } from '../helpers/largest-body';
import { connectTemporal, uniqueTaskQueue } from '../helpers/temporal';

const SCIM_TOKEN = 'test-scim-token';
const HR_KEY = randomBytes(32);
const HR_SECRET = `whsec_${HR_KEY.toString('base64')}`;
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const OFFICE_EXT = 'hostile-office-ext';
const MISSING = '00000000-0000-0000-0000-000000000000';
/**
 * 6,000 incompressible characters: more than a b-tree index entry holds. A hash chain, not random
 * bytes, so that a replayed seed sends the same text.
 */
const LONG = Buffer.concat(
  Array.from({ length: 141 }, (_, i) => createHash('sha256').update(`hostile-long-${i}`).digest()),
)
  .subarray(0, 4500)
  .toString('base64');

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;
let d: Directory;
let ids: {
  customer: string;
  record: string;
  callback: string;
  handover: string;
  scimUser: string;
};

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('hostile_input'), connectTemporal()]);
  // A task queue nobody polls: a handover that starts anyway is never worked on.
  api = await buildTestApi(database.db, temporal.client, {
    SCIM_TOKEN,
    HR_WEBHOOK_SECRET: HR_SECRET,
    TEMPORAL_TASK_QUEUE: uniqueTaskQueue('hostile'),
  });
  d = await seedDirectory(api);
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
  ids = { customer, record, callback, handover, scimUser: scimUser.json().id };
});

afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

const snapshot = () => snapshotDatabase(database.db);

// ---------------------------------------------------------------------------------------------
// The endpoints

type Family = 'v1' | 'scim' | 'hr';
type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Endpoint {
  method: Method;
  /** As the OpenAPI document writes it, e.g. /v1/agents/{id}. */
  route: string;
  family: Family;
  /** Real values of the path parameters (in route order). */
  params: () => string[];
  /** A fresh body the endpoint could accept (undefined: the endpoint takes none). */
  body?: () => Record<string, unknown>;
  /** Changes nothing even when it succeeds (a dry run). */
  readOnly?: boolean;
  /** Fields (by name) whose value may be null. */
  nullable?: string[];
}

let n = 0;
const uniq = (label: string) => `${label}-${Date.now().toString(36)}-${++n}`;

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node;
}

/** The node at `path`, if `root` has one there (through objects and arrays only). */
function lookup(root: unknown, path: Path): { value: unknown } | undefined {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return { value: node };
}

type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean';
const jsonType = (v: unknown): JsonType =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as 'object' | 'string' | 'number' | 'boolean');

/**
 * Whether a field of the valid `base` holds, in `body`, a value of another JSON type (null counts,
 * unless the field is nullable): API.md's "never coerced" makes such a body a 400. Fields that are
 * null in `base` have no other type to compare with; fields `body` no longer has do not count.
 */
function typeConfused(base: unknown, body: unknown, nullable: string[]): boolean {
  return nodes(base).leaves.some((path) => {
    const was = valueAt(base, path);
    const now = lookup(body, path);
    if (was === null || !now || jsonType(now.value) === jsonType(was)) return false;
    return !(now.value === null && nullable.includes(String(path[path.length - 1])));
  });
}

const endpoints: Endpoint[] = [
  {
    method: 'POST',
    route: '/v1/offices',
    family: 'v1',
    params: () => [],
    body: () => ({ name: uniq('office'), externalId: uniq('ext') }),
  },
  {
    method: 'POST',
    route: '/v1/agents',
    family: 'v1',
    params: () => [],
    body: () => ({ officeId: d.officeA, name: uniq('agent'), email: `${uniq('a')}@example.test`, role: 'agent' }),
  },
  {
    method: 'PATCH',
    route: '/v1/agents/{id}',
    family: 'v1',
    params: () => [d.agentA2.id],
    body: () => ({ status: 'absent' }),
  },
  { method: 'POST', route: '/v1/agents/{id}/tokens', family: 'v1', params: () => [d.agentA2.id] },
  {
    method: 'PUT',
    route: '/v1/agents/{id}/notification-settings/{kind}',
    family: 'v1',
    params: () => [d.agentA.id, 'callbacks-assigned'],
    body: () => ({ enabled: false }),
  },
  {
    method: 'PUT',
    route: '/v1/lead-sources/{key}',
    nullable: ['defaultAssigneeId'],
    family: 'v1',
    params: () => ['hostile-lead-source'],
    body: () => ({ name: uniq('lead'), officeId: d.officeA, defaultAssigneeId: d.agentA.id }),
  },
  {
    method: 'POST',
    route: '/v1/customers',
    nullable: ['ownerId'],
    family: 'v1',
    params: () => [],
    body: () => ({
      officeId: d.officeA,
      ownerId: d.agentA.id,
      name: uniq('customer'),
      kind: 'buyer',
      email: 'c@example.test',
    }),
  },
  {
    method: 'POST',
    route: '/v1/customers/bulk',
    nullable: ['ownerId'],
    family: 'v1',
    params: () => [],
    body: () => ({
      customers: [
        { officeId: d.officeA, ownerId: d.agentA.id, name: uniq('bulk'), kind: 'seller', phone: '+81 1' },
        { officeId: d.officeA, ownerId: null, name: uniq('bulk'), kind: 'both', externalId: uniq('bulk-ext') },
      ],
    }),
  },
  { method: 'DELETE', route: '/v1/customers/{id}', family: 'v1', params: () => [ids.customer] },
  { method: 'POST', route: '/v1/customers/{id}/restore', family: 'v1', params: () => [ids.customer] },
  {
    method: 'POST',
    route: '/v1/customers/{id}/records',
    nullable: ['dueAt', 'assigneeId'],
    family: 'v1',
    params: () => [ids.customer],
    body: () => ({ type: 'task', title: uniq('record'), dueAt: '2030-01-01T00:00:00Z', assigneeId: d.agentA.id }),
  },
  {
    method: 'PATCH',
    route: '/v1/customers/{id}/records/{recordId}',
    nullable: ['dueAt', 'assigneeId'],
    family: 'v1',
    params: () => [ids.customer, ids.record],
    body: () => ({ title: uniq('title'), status: 'open', dueAt: null }),
  },
  {
    method: 'POST',
    route: '/v1/imports/customers',
    nullable: ['email', 'phone'],
    family: 'v1',
    params: () => [],
    body: () => ({
      ownerId: d.agentA.id,
      mode: 'update',
      transfer: true,
      customers: [{ externalId: uniq('imp'), name: uniq('imported'), email: 'i@example.test', kind: 'buyer' }],
    }),
  },
  {
    method: 'POST',
    route: '/v1/callbacks',
    family: 'v1',
    params: () => [],
    body: () => ({
      customerId: ids.customer,
      name: uniq('caller'),
      phone: '+81 3 1234 5678',
      startsAt: '2030-02-01T09:00:00Z',
      endsAt: '2030-02-01T10:00:00Z',
      assigneeId: d.agentA.id,
      campaign: 'spring',
      note: 'call back',
    }),
  },
  {
    method: 'PATCH',
    route: '/v1/callbacks/{id}',
    nullable: ['note'],
    family: 'v1',
    params: () => [ids.callback],
    body: () => ({ note: uniq('note'), startsAt: '2030-01-01T09:00:00Z', endsAt: '2030-01-01T11:00:00Z' }),
  },
  {
    // Refused however it is mutated (the successor is the leaving agent itself): never starts anything.
    method: 'POST',
    route: '/v1/handovers',
    family: 'v1',
    params: () => [],
    body: () => ({
      kind: 'offboard',
      agentId: d.agentA.id,
      to: { agentId: d.agentA.id },
      reason: 'leaves',
      options: { recheckIntervalSeconds: 60 },
    }),
  },
  {
    method: 'POST',
    route: '/v1/handovers/preview',
    family: 'v1',
    params: () => [],
    readOnly: true,
    body: () => ({
      kind: 'offboard',
      agentId: d.agentA2.id,
      to: { pool: [d.agentA.id], strategy: 'round-robin' },
      reason: 'leaves',
      effectiveAt: '2030-01-01T00:00:00Z',
    }),
  },
  { method: 'POST', route: '/v1/handovers/{id}/cancel', family: 'v1', params: () => [ids.handover] },
  { method: 'POST', route: '/v1/handovers/{id}/recheck', family: 'v1', params: () => [ids.handover] },
  {
    // Refused however it is mutated (no such employee): never starts anything.
    method: 'POST',
    route: '/v1/hr/events',
    family: 'hr',
    params: () => [],
    body: () => ({
      type: 'employee.terminated',
      employee: { externalId: 'no-such-employee' },
      successor: { externalId: 'nobody-either' },
      effectiveAt: '2030-01-01T00:00:00Z',
    }),
  },
  {
    method: 'POST',
    route: '/scim/v2/Users',
    family: 'scim',
    params: () => [],
    body: () => ({
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: `${uniq('scim')}@example.test`,
      externalId: uniq('scim-ext'),
      name: { givenName: 'Given', familyName: 'Family' },
      locale: 'ja-JP',
      [ENTERPRISE]: { department: OFFICE_EXT },
    }),
  },
  {
    method: 'PUT',
    route: '/scim/v2/Users/{id}',
    family: 'scim',
    params: () => [ids.scimUser],
    body: () => ({
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: 'scim.user@example.test',
      displayName: uniq('SCIM User'),
      [ENTERPRISE]: { department: OFFICE_EXT },
    }),
  },
  {
    method: 'PATCH',
    route: '/scim/v2/Users/{id}',
    family: 'scim',
    params: () => [ids.scimUser],
    body: () => ({
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: 'replace', path: 'displayName', value: uniq('Renamed') },
        { op: 'add', value: { externalId: uniq('scim-ext'), name: { formatted: 'Formatted' } } },
      ],
    }),
  },
];

// ---------------------------------------------------------------------------------------------
// Sending and checking

interface Raw {
  /** Path parameter segments, already percent-encoded (default: the endpoint's real ones). */
  segments?: string[];
  payload?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
}

/** Every byte percent-encoded: any string, lone surrogates included, makes a valid URL segment. */
const encodeSegment = (s: string) =>
  [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

function urlOf(ep: Endpoint, segments: string[]): string {
  let i = 0;
  return ep.route.replace(/\{[^}]+\}/g, () => segments[i++] ?? '');
}

function send(ep: Endpoint, raw: Raw): Promise<LightMyRequestResponse> {
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
  return api.app.inject({
    method: ep.method,
    url: urlOf(ep, segments),
    headers,
    ...(raw.payload === undefined ? {} : { payload: raw.payload }),
  });
}

const describeResponse = (res: LightMyRequestResponse) =>
  `${res.statusCode} ${res.headers['content-type']} ${res.body.slice(0, 500)}`;

/** Never a 5xx; an error is a well-formed problem (or SCIM error); a refusal changes nothing. */
async function expectSafe(ep: Endpoint, raw: Raw): Promise<number> {
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
// Arbitraries

const nasty = fc.constantFrom(
  '\u0000',
  'a\u0000b',
  'name\u0000',
  '\u0000'.repeat(20),
  "'; DROP TABLE customers; --",
  "' OR '1'='1' --",
  '"); DELETE FROM agents; --',
  '1; SELECT pg_sleep(10)',
  "$1 $$ E'\\x00' \\x00",
  '%s%n%x',
  '../../../etc/passwd',
  '<script>alert(1)</script>',
  '\u202e\u0007\u001b[31m\u007f',
  '\ud800',
  'x\udfffy',
  '😀👍🏽👨‍👩‍👧',
  '日本語の顧客・ｶﾀｶﾅ',
  '\r\n\t\v\f\b',
  '\\',
  '"',
  '__proto__',
  'constructor',
  'null',
  '   ',
  '',
  'x'.repeat(300),
  'é'.repeat(5000),
  // Incompressible and long: more than a b-tree index entry holds (2,704 bytes).
  LONG,
  '2020-12-31T23:59:60Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2024-02-30T00:00:00Z',
  '1970-01-01T00:00:00+14:00',
  '+275760-09-13T00:00:00Z',
  'a@b',
  'a\u0000@example.test',
  MISSING,
);

const hostileString = fc.oneof(
  { arbitrary: nasty, weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 1 },
  {
    arbitrary: fc.string({
      unit: fc.constantFrom('\u0000', '\u0001', '\u001f', '\ud800', "'", '"', '\\', ';', '%', 'a'),
      maxLength: 20,
    }),
    weight: 2,
  },
);

/** [[[[…]]]] / {"a":{"a":…}}, `depth` levels deep. */
function nested(depth: number, object: boolean): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = object ? { a: value } : [value];
  return value;
}

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileString, weight: 6 },
  {
    arbitrary: fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53 + 2, 0.5),
      fc.boolean(),
      fc.constant(null),
    ),
    weight: 3,
  },
  { arbitrary: fc.array(hostileString, { maxLength: 5 }), weight: 1 },
  { arbitrary: fc.dictionary(hostileString, hostileString, { maxKeys: 4 }), weight: 1 },
  // Huge arrays: past every maxItems (10,000 rows, 100 pool members, 100,000 customer IDs).
  {
    arbitrary: fc.constantFrom(101, 1001, 10_001, 100_001).map((len) => new Array<string>(len).fill(MISSING)),
    weight: 1,
  },
  {
    arbitrary: fc.tuple(fc.integer({ min: 20, max: 1000 }), fc.boolean()).map(([depth, o]) => nested(depth, o)),
    weight: 1,
  },
);

type Path = Array<string | number>;

/**
 * Every node of a JSON value (not the root), and every object node (root included). Collected into
 * one pair of arrays, never spread: a huge array from an earlier mutation would overflow the stack.
 */
function nodes(value: unknown, at: Path = [], found = { leaves: [] as Path[], objects: [] as Path[] }) {
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

function setAt(root: unknown, path: Path, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** One to three changes: a field set to a hostile value, removed, or an unknown field added. */
const mutation = fc.array(
  fc.record({
    kind: fc.constantFrom('set', 'set', 'set', 'remove', 'add'),
    pick: fc.nat(),
    key: hostileString,
    value: hostileValue,
  }),
  { minLength: 1, maxLength: 3 },
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(base: Record<string, unknown>, changes: Mutation): unknown {
  const body = structuredClone(base);
  for (const change of changes) {
    const { leaves, objects } = nodes(body);
    if (change.kind === 'add' || leaves.length === 0) {
      const at = objects[change.pick % objects.length]!;
      setAt(body, [...at, change.key], change.value);
    } else {
      const at = leaves[change.pick % leaves.length]!;
      setAt(body, at, change.kind === 'remove' ? undefined : change.value);
    }
  }
  return body;
}

const randomJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(hostileString, hostileValue, { maxKeys: 5 }),
  fc.array(hostileValue, { maxLength: 3 }),
);

const deepText = fc
  .tuple(fc.integer({ min: 1000, max: 100_000 }), fc.boolean())
  .map(([depth, object]) =>
    object ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`,
  );

const rawPayload = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '{"a":',
    'null',
    'true',
    '0',
    '"text"',
    '[]',
    '{}',
    'not json at all',
    '<?xml version="1.0"?><user><name>x</name></user>',
    'name=x&officeId=y',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '{"name":"a","name":"b"}',
    '{"name":"\\u0000"}',
    '{"name":"\\ud800"}',
    '\u0000',
    '\ufeff{}',
    '{"a":1}garbage',
    '--boundary\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--boundary--',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  randomJson.map((v) => JSON.stringify(v) ?? 'null'),
  deepText,
);

const contentType = fc.constantFrom<string | null>(
  'application/json',
  'application/json; charset=utf-16',
  'application/scim+json',
  'text/plain',
  'text/html',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=boundary',
  'application/octet-stream',
  'application/problem+json',
  'application/jsonx',
  ';;;',
  'application/json\u0000',
  null,
);

/** A path parameter: hostile text (percent-encoded), or raw bytes that are no valid encoding at all. */
const segment = fc.oneof(
  { arbitrary: hostileString.map(encodeSegment), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      '%',
      '%zz',
      '%E0%A4%A',
      '%C0%80',
      '%FF',
      '%00',
      '%2F',
      '..',
      '.',
      '%20',
      'a'.repeat(101),
      'b'.repeat(5000),
    ),
    weight: 2,
  },
  { arbitrary: fc.uuid(), weight: 1 },
);

const RUNS = { mutated: 40, random: 15, raw: 15, params: 15 } as const;

// ---------------------------------------------------------------------------------------------
// Counterexamples found so far: each runs as a fixed example before the random runs, whatever the seed.

const MUTATION_EXAMPLES: Array<[Mutation]> = [
  // A huge array set by one change, then another change: collecting the nodes overflowed the stack (84f2b5c).
  [
    [
      { kind: 'set', pick: 0, key: 'a', value: new Array<string>(100_001).fill(MISSING) },
      { kind: 'set', pick: 3, key: 'b', value: 'x' },
    ],
  ],
  // Text with NUL, which PostgreSQL cannot store: found by these properties, a 400 since dd1ecf1.
  [[{ kind: 'set', pick: 0, key: 'a', value: 'a\u0000b' }]],
];

/**
 * Path parameters: `.` and `..` (also percent-encoded) are dot segments the URL normalises away
 * (`PATCH …/records/.` answered 400 for an empty record ID); `%zz` and `%00` stand for the bad
 * URLs these properties found answered without a problem body (fixed in dd1ecf1). Each in every position.
 */
const SEGMENT_EXAMPLES = ['.', '..', '%2e', '%zz', '%00'];
function segmentExamples(ep: Endpoint): Array<[string[]]> {
  const real = ep.params().map(encodeSegment);
  return real.flatMap((_, i) =>
    SEGMENT_EXAMPLES.map((bad): [string[]] => [real.map((segment, j) => (j === i ? bad : segment))]),
  );
}

const RAW_EXAMPLES: Array<[string, string | null]> = [['{"name":"\\u0000"}', 'application/json']];

// ---------------------------------------------------------------------------------------------
// Body limits (API.md: "each route accepts bodies up to what its largest valid input needs, no more")

/**
 * Routes whose bodies are open objects, so that no valid body is the largest: SCIM resources carry
 * what each identity provider adds, HR events what each HR system adds. They take no more than the
 * largest valid body of any other route.
 */
const OPEN_BODIES = [
  'POST /v1/hr/events',
  'POST /scim/v2/Users',
  'PUT /scim/v2/Users/{id}',
  'PATCH /scim/v2/Users/{id}',
];

/** More than a route may take: 10% past its largest valid body, and 4 KiB for the small ones. */
const pastLargest = (needs: number) => Math.ceil(needs * 1.1) + 4096;

interface OpenApiDoc {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}
let openApi: OpenApiDoc | undefined;

/** The JSON Schema the OpenAPI document gives the body of `ep` (undefined: it takes none). */
async function bodySchemaOf(ep: Pick<Endpoint, 'method' | 'route'>): Promise<JsonSchema | undefined> {
  openApi ??= expectStatus(await api.call('GET', '/docs/json'), 200) as OpenApiDoc;
  return openApi.paths[ep.route]?.[ep.method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
}

/** One builder for the file: each value it writes differs from every one before (externalIds stay unique). */
const largest = new LargestBodies();

type Shape = { kind: 'none' } | { kind: 'open'; why: string } | { kind: 'bounded'; body: unknown };

async function largestBodyOf(ep: Endpoint): Promise<Shape> {
  const schema = await bodySchemaOf(ep);
  if (!schema) return { kind: 'none' };
  try {
    return { kind: 'bounded', body: largest.largestValid(schema) };
  } catch (error) {
    if (error instanceof Unbounded) return { kind: 'open', why: error.message };
    throw error;
  }
}

/** Compact bytes of the largest valid body of each route with a bounded one, as its test measured them. */
const largestBytes = new Map<string, number>();

async function largestBoundedBytes(): Promise<number> {
  let max = 0;
  for (const other of endpoints) {
    const key = `${other.method} ${other.route}`;
    let size = largestBytes.get(key);
    if (size === undefined) {
      const shape = await largestBodyOf(other);
      size = shape.kind === 'bounded' ? bytes(JSON.stringify(shape.body)) : 0;
      largestBytes.set(key, size);
    }
    max = Math.max(max, size);
  }
  return max;
}

/**
 * The endpoint's path with unknown IDs (kinds and keys stay valid): a body that is read gets
 * through validation and is then refused for what it names, changing nothing.
 */
function unknownTargets(ep: Endpoint): string[] {
  const names = [...ep.route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  return ep
    .params()
    .map((value, i) => (names[i] === 'id' || names[i] === 'recordId' ? MISSING : value))
    .map(encodeSegment);
}

/** `json` with spaces before its last character up to `size` bytes: the same JSON value, only larger. */
function padded(json: string, size: number): string {
  return `${json.slice(0, -1)}${' '.repeat(Math.max(0, size - bytes(json)))}${json.slice(-1)}`;
}

// ---------------------------------------------------------------------------------------------

test('the table lists every write endpoint of the OpenAPI document', async () => {
  const doc = expectStatus(await api.call('GET', '/docs/json'), 200) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ['post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    )
    .sort();
  expect(documented).toEqual(endpoints.map((ep) => `${ep.method} ${ep.route}`).sort());
});

describe.each(endpoints.map((ep) => [`${ep.method} ${ep.route}`, ep] as const))('%s', (_name, ep) => {
  test('a mutated valid body (wrong types, unknown fields, huge arrays, deep nesting, NUL, SQL): 2xx or 4xx, 400 when a field got another JSON type, a refusal changes nothing', async () => {
    // The unmutated body is accepted (or refused for a known reason): the mutations start from something real.
    await expectSafe(ep, { payload: ep.body ? JSON.stringify(ep.body()) : undefined });
    await fc.assert(
      fc.asyncProperty(mutation, async (changes) => {
        const base = ep.body?.() ?? {};
        const body = mutate(base, changes);
        const status = await expectSafe(ep, { payload: JSON.stringify(body) });
        // Never coerced (API.md). SCIM is exempt: it accepts what identity providers send ("True").
        // 413 when the change also made the body too large: still no coerced success.
        if (ep.family !== 'scim' && typeConfused(base, body, ep.nullable ?? [])) {
          expect([400, 413], `type-confused body answered ${status}: ${JSON.stringify(body).slice(0, 300)}`).toContain(
            status,
          );
        }
      }),
      { numRuns: RUNS.mutated, examples: MUTATION_EXAMPLES },
    );
  });

  test('random JSON bodies: 2xx or 4xx, a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(randomJson, async (body) => {
        await expectSafe(ep, { payload: JSON.stringify(body) ?? 'null' });
      }),
      { numRuns: RUNS.random },
    );
  });

  test('non-JSON bodies, broken JSON, deep nesting and wrong content types: 2xx or 4xx, a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(rawPayload, contentType, async (payload, type) => {
        await expectSafe(ep, { payload, contentType: type });
      }),
      { numRuns: RUNS.raw, examples: RAW_EXAMPLES },
    );
  });

  if (ep.route.includes('{')) {
    test('hostile path parameters (NUL, SQL, bad percent-encoding, dot segments, over-long): 4xx, nothing changes', async () => {
      const count = ep.params().length;
      await fc.assert(
        fc.asyncProperty(fc.array(segment, { minLength: count, maxLength: count }), async (segments) => {
          const status = await expectSafe(ep, {
            segments,
            payload: ep.body ? JSON.stringify(ep.body()) : undefined,
          });
          // Unknown IDs: never a success (a random key is a valid new lead source or a notification kind, though).
          if (ep.route !== '/v1/lead-sources/{key}') expect(status).toBeGreaterThanOrEqual(400);
        }),
        { numRuns: RUNS.params, examples: segmentExamples(ep) },
      );
    });
  }

  if (ep.body) {
    test('each string field of a valid body set to text with NUL, or to 6,000 incompressible characters: 2xx or 4xx', async () => {
      const base = ep.body!();
      const strings = nodes(base).leaves.filter((path) => typeof valueAt(base, path) === 'string');
      for (const path of strings) {
        for (const value of ['a\u0000b', LONG]) {
          const body = ep.body!();
          setAt(body, path, value);
          await expectSafe(ep, { payload: JSON.stringify(body) });
        }
      }
    });
  }

  test('its largest valid body is read (neither 400 nor 413); one 10% and 4 KiB past it is 413 and changes nothing', async () => {
    const key = `${ep.method} ${ep.route}`;
    const shape = await largestBodyOf(ep);
    const segments = unknownTargets(ep);
    let json = '{}';
    if (shape.kind === 'open') {
      expect(OPEN_BODIES, `${key} has an open body schema (${shape.why})`).toContain(key);
      largestBytes.set(key, 0);
    } else {
      expect(OPEN_BODIES, `${key} has a bounded body schema now`).not.toContain(key);
      if (shape.kind === 'none') {
        // No body at all: that is its largest valid input.
        largestBytes.set(key, 0);
        expect(await expectSafe(ep, { segments })).not.toBe(413);
      } else {
        json = JSON.stringify(shape.body);
        largestBytes.set(key, bytes(json));
        // As JSON.stringify(v, null, 2) writes it: larger than the compact form, so that one fits too.
        const pretty = JSON.stringify(shape.body, null, 2);
        const status = await expectSafe(ep, { segments, payload: pretty });
        expect(status, `${bytes(pretty)} bytes`).not.toBe(413);
        expect(status, `${bytes(pretty)} bytes`).not.toBe(400);
      }
    }
    const needs = shape.kind === 'open' ? await largestBoundedBytes() : largestBytes.get(key)!;
    const past = padded(json, pastLargest(needs));
    expect(await expectSafe(ep, { segments, payload: past }), `${bytes(past)} bytes`).toBe(413);
  });
});

// ---------------------------------------------------------------------------------------------
// Never coerced (API.md, Conventions): every typed field of every write route, each wrong JSON type.

/** Values of other JSON types than `value`'s: each must be a 400. Null too, unless the field may be null. */
function wrongValues(value: unknown, nullable: boolean): unknown[] {
  const wrong: Record<JsonType, unknown[]> = {
    string: [300, true, [value], {}],
    number: [String(value), true, [value], {}],
    boolean: [0, 1, String(value), String(!value), [value]],
    object: [[value], [], 'object', 0, true],
    array: [{}, Array.isArray(value) ? value[0] : 'item', 'array', 0, true],
    null: [],
  };
  return [...wrong[jsonType(value)], ...(nullable ? [] : [null])];
}

/** Whether one of the problem's `errors` names `path` (as `body/a/0/b`, `/a/0/b` or `a[0].b`). */
function errorsName(res: LightMyRequestResponse, path: Path): boolean {
  const errors = (res.json() as { errors?: Array<{ path?: unknown }> }).errors ?? [];
  const want = path.join('/');
  return errors.some(
    (e) =>
      typeof e.path === 'string' &&
      e.path
        .replace(/^body\b/, '')
        .split(/[/.[\]]+/)
        .filter(Boolean)
        .join('/') === want,
  );
}

/** Every property name a JSON Schema gives (through unions and array items). */
function propertyNames(schema: JsonSchema | undefined, into = new Set<string>()): Set<string> {
  if (!schema) return into;
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    into.add(key);
    propertyNames(value, into);
  }
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) propertyNames(branch, into);
  propertyNames(schema.items, into);
  return into;
}

interface TypedRoute extends Endpoint {
  name: string;
  /** The status its valid body answers. */
  ok: number;
  /** Fields (dotted paths) that may be null. */
  nullablePaths?: string[];
}

/** What the typed routes work on, apart from the rest of the file: their valid bodies really succeed. */
let w: {
  office: string;
  otherOffice: string;
  otherOfficeExt: string;
  successor: string;
  successor2: string;
  patched: string;
  importer: string;
  customer: string;
  record: string;
  callback: string;
  /** A leaver, a mover, an agent whose customers are reassigned, an absent agent, a customer: per route. */
  handover: Record<
    'post' | 'preview',
    { leaver: string; mover: string; from: string; absent: string; customer: string }
  >;
  /** externalIds for the HR events. */
  hr: { leaver: string; mover: string; absent: string; successor: string };
};

const SOON = '2031-01-01T09:00:00Z';
/** A function, not a constant: each case changes its own copy. */
const options = () => ({ recheckIntervalSeconds: 60, escalateAfterSeconds: 3600 });

function handoverBodies(route: '/v1/handovers' | '/v1/handovers/preview'): TypedRoute[] {
  const which = route === '/v1/handovers' ? 'post' : 'preview';
  const h = () => w.handover[which];
  const base = {
    method: 'POST' as const,
    route,
    family: 'v1' as const,
    params: () => [],
    ok: which === 'post' ? 202 : 200,
  };
  return [
    {
      ...base,
      name: `POST ${route} (offboard, to one agent)`,
      body: () => ({
        kind: 'offboard',
        agentId: h().leaver,
        to: { agentId: w.successor },
        reason: 'leaves',
        options: options(),
        effectiveAt: SOON,
      }),
    },
    {
      ...base,
      name: `POST ${route} (transfer, to a pool)`,
      body: () => ({
        kind: 'transfer',
        agentId: h().mover,
        toOfficeId: w.otherOffice,
        customers: 'stay',
        to: { pool: [w.successor, w.successor2], strategy: 'least-loaded' },
        reason: 'moves',
        options: options(),
        effectiveAt: SOON,
      }),
    },
    {
      ...base,
      name: `POST ${route} (reassign-customers by ID, unassigned)`,
      body: () => ({
        kind: 'reassign-customers',
        from: { customerIds: [h().customer] },
        to: { unassign: true },
        reason: 'cleanup',
        options: options(),
      }),
    },
    {
      ...base,
      name: `POST ${route} (reassign-customers of an agent)`,
      body: () => ({
        kind: 'reassign-customers',
        from: { agentId: h().from },
        to: { agentId: w.successor },
        options: options(),
      }),
    },
    {
      ...base,
      name: `POST ${route} (reassign-callbacks, a cover inside a window)`,
      body: () => ({
        kind: 'reassign-callbacks',
        fromAgentId: h().absent,
        to: { agentId: w.successor },
        window: { from: '2031-01-01T00:00:00Z', to: '2031-02-01T00:00:00Z' },
        until: '2031-03-01T00:00:00Z',
        reason: 'holiday',
        options: options(),
      }),
    },
  ];
}

const hrEvent = (name: string, body: () => Record<string, unknown>): TypedRoute => ({
  name: `POST /v1/hr/events (${name})`,
  method: 'POST',
  route: '/v1/hr/events',
  family: 'hr',
  params: () => [],
  ok: 202,
  body,
});

const typedRoutes: TypedRoute[] = [
  {
    name: 'POST /v1/offices',
    method: 'POST',
    route: '/v1/offices',
    family: 'v1',
    params: () => [],
    ok: 201,
    body: () => ({ name: uniq('office'), externalId: uniq('ext') }),
  },
  {
    name: 'POST /v1/agents',
    method: 'POST',
    route: '/v1/agents',
    family: 'v1',
    params: () => [],
    ok: 201,
    body: () => ({
      officeId: w.office,
      name: uniq('agent'),
      email: `${uniq('agent')}@example.test`,
      role: 'agent',
      locale: 'ja',
      externalId: uniq('agent-ext'),
    }),
  },
  {
    name: 'PATCH /v1/agents/{id}',
    method: 'PATCH',
    route: '/v1/agents/{id}',
    family: 'v1',
    params: () => [w.patched],
    ok: 200,
    body: () => ({ status: 'absent', role: 'agent' }),
  },
  {
    name: 'PUT /v1/lead-sources/{key}',
    method: 'PUT',
    route: '/v1/lead-sources/{key}',
    family: 'v1',
    params: () => ['typed-lead-source'],
    ok: 200,
    nullablePaths: ['defaultAssigneeId'],
    body: () => ({ name: uniq('lead'), officeId: w.office, defaultAssigneeId: w.successor }),
  },
  {
    name: 'POST /v1/customers',
    method: 'POST',
    route: '/v1/customers',
    family: 'v1',
    params: () => [],
    ok: 201,
    nullablePaths: ['ownerId'],
    body: () => ({
      officeId: w.office,
      ownerId: w.successor,
      name: uniq('customer'),
      email: 'c@example.test',
      phone: '+81 3 0000 0001',
      kind: 'buyer',
      subscribed: true,
      externalId: uniq('customer-ext'),
    }),
  },
  {
    name: 'POST /v1/customers/bulk',
    method: 'POST',
    route: '/v1/customers/bulk',
    family: 'v1',
    params: () => [],
    ok: 201,
    nullablePaths: ['customers.0.ownerId'],
    body: () => ({
      customers: [
        {
          officeId: w.office,
          ownerId: w.successor,
          name: uniq('bulk'),
          email: 'b@example.test',
          phone: '+81 3 0000 0002',
          kind: 'seller',
          subscribed: false,
          externalId: uniq('bulk-ext'),
        },
      ],
    }),
  },
  {
    name: 'POST /v1/customers/{id}/records',
    method: 'POST',
    route: '/v1/customers/{id}/records',
    family: 'v1',
    params: () => [w.customer],
    ok: 201,
    nullablePaths: ['dueAt', 'assigneeId'],
    body: () => ({ type: 'task', title: uniq('record'), dueAt: SOON, assigneeId: w.successor }),
  },
  {
    name: 'PATCH /v1/customers/{id}/records/{recordId}',
    method: 'PATCH',
    route: '/v1/customers/{id}/records/{recordId}',
    family: 'v1',
    params: () => [w.customer, w.record],
    ok: 200,
    nullablePaths: ['dueAt', 'assigneeId'],
    body: () => ({ status: 'open', title: uniq('title'), dueAt: SOON, assigneeId: w.successor }),
  },
  {
    name: 'POST /v1/imports/customers',
    method: 'POST',
    route: '/v1/imports/customers',
    family: 'v1',
    params: () => [],
    ok: 200,
    // An import row may clear a customer's e-mail or phone.
    nullablePaths: ['customers.0.email', 'customers.0.phone'],
    body: () => ({
      ownerId: w.importer,
      mode: 'update',
      transfer: true,
      customers: [
        {
          externalId: uniq('import-ext'),
          name: uniq('imported'),
          email: 'i@example.test',
          phone: '+81 3 0000 0003',
          kind: 'both',
          subscribed: true,
        },
      ],
    }),
  },
  {
    name: 'POST /v1/callbacks',
    method: 'POST',
    route: '/v1/callbacks',
    family: 'v1',
    params: () => [],
    ok: 201,
    body: () => ({
      customerId: w.customer,
      name: uniq('caller'),
      phone: '+81 3 0000 0004',
      startsAt: '2031-01-01T09:00:00Z',
      endsAt: '2031-01-01T10:00:00Z',
      assigneeId: w.successor,
      campaign: 'spring',
      note: 'call back',
    }),
  },
  {
    name: 'PATCH /v1/callbacks/{id}',
    method: 'PATCH',
    route: '/v1/callbacks/{id}',
    family: 'v1',
    params: () => [w.callback],
    ok: 200,
    nullablePaths: ['note'],
    body: () => ({
      startsAt: '2031-01-02T09:00:00Z',
      endsAt: '2031-01-02T10:00:00Z',
      assigneeId: w.successor,
      note: uniq('note'),
    }),
  },
  ...handoverBodies('/v1/handovers/preview'),
  ...handoverBodies('/v1/handovers'),
  {
    name: 'PUT /v1/agents/{id}/notification-settings/{kind}',
    method: 'PUT',
    route: '/v1/agents/{id}/notification-settings/{kind}',
    family: 'v1',
    params: () => [w.successor, 'callbacks-assigned'],
    ok: 200,
    body: () => ({ enabled: false }),
  },
  hrEvent('employee.terminated', () => ({
    type: 'employee.terminated',
    employee: { externalId: w.hr.leaver },
    successor: { externalId: w.hr.successor },
    effectiveAt: SOON,
  })),
  hrEvent('employee.transferred', () => ({
    type: 'employee.transferred',
    employee: { externalId: w.hr.mover },
    toOffice: { externalId: w.otherOfficeExt },
    customers: 'stay',
    successor: { externalId: w.hr.successor },
    effectiveAt: SOON,
  })),
  hrEvent('employee.absent', () => ({
    type: 'employee.absent',
    employee: { externalId: w.hr.absent },
    successor: { externalId: w.hr.successor },
    until: SOON,
  })),
];

describe('bodies are never coerced: each typed field set to each value of another JSON type is 400 naming it, and changes nothing', () => {
  beforeAll(async () => {
    const office = (await createOfficeWithExt()).id;
    const other = await createOfficeWithExt();
    const agent = (extra: Record<string, unknown> = {}) => createAgent(api, office, 'agent', extra);
    const perRoute = async () => {
      const absent = await agent();
      await setStatus(database.db, absent, 'absent');
      return {
        leaver: await agent(),
        mover: await agent(),
        from: await agent(),
        absent,
        customer: await createCustomer(api, office, null),
      };
    };
    const successorExt = uniq('hr-successor');
    const successor = await agent({ externalId: successorExt });
    const customer = await createCustomer(api, office, successor);
    const ext = async () => {
      const externalId = uniq('hr');
      await agent({ externalId });
      return externalId;
    };
    const hrAbsent = uniq('hr-absent');
    await setStatus(database.db, await agent({ externalId: hrAbsent }), 'absent');
    w = {
      office,
      otherOffice: other.id,
      otherOfficeExt: other.externalId,
      successor,
      successor2: await agent(),
      patched: await agent(),
      importer: await agent(),
      customer,
      record: expectStatus(
        await api.call('POST', `/v1/customers/${customer}/records`, { type: 'task', title: 'typed' }),
        201,
      ).id,
      callback: expectStatus(
        await api.call('POST', '/v1/callbacks', {
          name: 'Typed caller',
          phone: '+81 3 0000 0000',
          startsAt: '2031-01-01T09:00:00Z',
          endsAt: '2031-01-01T10:00:00Z',
          assigneeId: successor,
        }),
        201,
      ).id,
      handover: { post: await perRoute(), preview: await perRoute() },
      hr: {
        leaver: await ext(),
        mover: await ext(),
        absent: hrAbsent,
        successor: successorExt,
      },
    };
  });

  async function createOfficeWithExt(): Promise<{ id: string; externalId: string }> {
    const externalId = uniq('typed-office');
    const id = expectStatus(await api.call('POST', '/v1/offices', { name: uniq('Typed'), externalId }), 201).id;
    return { id, externalId };
  }

  test('the table has every write route with a JSON body (SCIM aside: API.md has it accept what IdPs send), each property its schema names', async () => {
    for (const ep of endpoints.filter((e) => e.family !== 'scim')) {
      const schema = await bodySchemaOf(ep);
      const rows = typedRoutes.filter((r) => r.method === ep.method && r.route === ep.route);
      if (!schema) {
        expect(rows, `${ep.method} ${ep.route} takes no body`).toEqual([]);
        continue;
      }
      const covered = new Set(
        rows.flatMap((r) => nodes(r.body!()).leaves.map((path) => String(path[path.length - 1]))),
      );
      const missing = [...propertyNames(schema)].filter((name) => !covered.has(name));
      expect(missing, `${ep.method} ${ep.route}: fields the table never sets`).toEqual([]);
    }
  });

  test.each(typedRoutes.map((r) => [r.name, r] as const))('%s', async (_name, route) => {
    // The valid body succeeds: a 400 below is the wrong type's, not one the body had anyway.
    const valid = await send(route, { payload: JSON.stringify(route.body!()) });
    expect(valid.statusCode, describeResponse(valid)).toBe(route.ok);

    const base = route.body!();
    const fields = nodes(base).leaves;
    const failures: string[] = [];
    let cases = 0;
    let before = await snapshot();
    for (const path of fields) {
      const nullable = (route.nullablePaths ?? []).includes(path.join('.'));
      for (const wrong of wrongValues(valueAt(base, path), nullable)) {
        cases++;
        const body = route.body!();
        setAt(body, path, wrong);
        const res = await send(route, { payload: JSON.stringify(body) });
        const what = `${path.join('.')} = ${JSON.stringify(wrong)}`;
        if (res.statusCode !== 400) failures.push(`${what}: ${describeResponse(res)}`);
        else if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
          failures.push(`${what}: ${res.headers['content-type']}`);
        } else if (!errorsName(res, path)) failures.push(`${what}: errors do not name ${path.join('/')}: ${res.body}`);
        const after = await snapshot();
        if (after !== before) {
          failures.push(`${what}: changed the database`);
          before = after;
        }
      }
    }
    expect(failures).toEqual([]);
    // At least four values of other types for every field, nullable ones too: the table cannot go thin.
    expect(fields.length).toBeGreaterThan(0);
    expect(cases).toBeGreaterThanOrEqual(4 * fields.length);
  });
});

test('POST /v1/handovers: a hostile Idempotency-Key header is a 4xx and changes nothing', async () => {
  const ep = endpoints.find((e) => e.route === '/v1/handovers')!;
  await fc.assert(
    fc.asyncProperty(hostileString, async (key) => {
      await expectSafe(ep, { payload: JSON.stringify(ep.body!()), headers: { 'idempotency-key': key } });
    }),
    { numRuns: 40 },
  );
});

// Last in the file: it adds 20,000 customers, which every later checksum would have to read.
test('the largest valid bulk create and import, naming a real office and owner, are served: 10,000 customers each, every field at its longest', async () => {
  const bulkEp = endpoints.find((e) => e.route === '/v1/customers/bulk')!;
  const importEp = endpoints.find((e) => e.route === '/v1/imports/customers')!;
  type Row = Record<string, unknown>;
  const bulk = largest.largestValid((await bodySchemaOf(bulkEp))!) as { customers: Row[] };
  const imported = largest.largestValid((await bodySchemaOf(importEp))!) as { ownerId: string; customers: Row[] };
  // API.md: "at most 10000" customers in either.
  expect(bulk.customers).toHaveLength(10_000);
  expect(imported.customers).toHaveLength(10_000);

  const owner = await createAgent(api, d.officeB, 'agent');
  const importer = await createAgent(api, d.officeB, 'agent');
  for (const row of bulk.customers) Object.assign(row, { officeId: d.officeB, ownerId: owner });
  imported.ownerId = importer;
  const created = expectStatus(await api.call('POST', '/v1/customers/bulk', bulk), 201) as { ids: string[] };
  expect(created.ids).toHaveLength(10_000);
  // Every externalId is new, so each row creates a customer (update-with-delete: the importer had none to trash).
  expect(expectStatus(await api.call('POST', '/v1/imports/customers', imported), 200)).toEqual({
    created: 10_000,
    updated: 0,
    transferred: 0,
    restored: 0,
    trashed: 0,
    unchanged: 0,
  });
  const counts = await database.db
    .selectFrom('customers')
    .select(({ fn }) => ['owner_id', fn.countAll<string>().as('n')])
    .where('owner_id', 'in', [owner, importer])
    .groupBy('owner_id')
    .execute();
  expect(Object.fromEntries(counts.map((c) => [c.owner_id, Number(c.n)]))).toEqual({
    [owner]: 10_000,
    [importer]: 10_000,
  });
});
