/**
 * Property-based hostile input against every write endpoint (POST/PUT/PATCH/DELETE under /v1/ and
 * /scim/v2, listed from the OpenAPI document so a new endpoint without a row here fails the test):
 * mutated valid bodies (wrong types, unknown fields, huge arrays, deep nesting, unicode, control
 * characters including NUL, SQL-looking strings), random JSON, non-JSON bodies and wrong content
 * types, hostile path parameters, and bodies over the limit.
 *
 * Every answer is a success or a 4xx error body (problem+json; SCIM routes a SCIM error in
 * application/scim+json), never a 5xx, and a refusal leaves every table exactly as it was
 * (a checksum of all rows of all tables before and after).
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_TOKEN, buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, snapshotDatabase, type TestDatabase } from '../helpers/database';
import { createCustomer, type Directory, expectStatus, seedDirectory } from '../helpers/directory';
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
 * Larger than any valid body of any route: the largest is 100,000 customer IDs of at most 100
 * characters (a reassign), under 40 MB even at 4 bytes a character (API.md: 413 past that).
 */
const OVERSIZED = 48 * 1024 * 1024;
/** 6,000 incompressible characters: more than a b-tree index entry holds. */
const LONG = randomBytes(4500).toString('base64');

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

let oversizedPayload: string | undefined;
const oversized = () => {
  oversizedPayload ??= `{"name":"${'x'.repeat(OVERSIZED)}"}`;
  return oversizedPayload;
};

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node;
}

/** JSON values of another type than `value`'s (null too, unless the field is nullable): each must be refused. */
function wrongTypes(value: unknown, nullable: boolean): unknown[] {
  const candidates: unknown[] = [null, 0, 1, true, false, '', '0', 'false', 'true', [], {}, [value]];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  return candidates.filter((c) => {
    if (c === null) return !nullable && value !== null;
    if (value === null) return typeof c !== 'string'; // the nullable fields set to null here are strings otherwise
    return typeOf(c) !== typeOf(value);
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
  test('a mutated valid body (wrong types, unknown fields, huge arrays, deep nesting, NUL, SQL): 2xx or 4xx, a refusal changes nothing', async () => {
    // The unmutated body is accepted (or refused for a known reason): the mutations start from something real.
    await expectSafe(ep, { payload: ep.body ? JSON.stringify(ep.body()) : undefined });
    await fc.assert(
      fc.asyncProperty(mutation, async (changes) => {
        const body = mutate(ep.body?.() ?? {}, changes);
        await expectSafe(ep, { payload: JSON.stringify(body) });
      }),
      { numRuns: RUNS.mutated },
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
      { numRuns: RUNS.raw },
    );
  });

  if (ep.route.includes('{')) {
    test('hostile path parameters (NUL, SQL, bad percent-encoding, over-long): 4xx, nothing changes', async () => {
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
        { numRuns: RUNS.params },
      );
    });
  }

  if (ep.body) {
    test('each string field of a valid body set to text with NUL, or to 6,000 incompressible characters: 2xx or 4xx', async () => {
      const base = ep.body!();
      const strings = nodes(base).leaves.filter((path) => {
        let node: unknown = base;
        for (const key of path) node = (node as Record<string | number, unknown>)[key];
        return typeof node === 'string';
      });
      for (const path of strings) {
        for (const value of ['a\u0000b', LONG]) {
          const body = ep.body!();
          setAt(body, path, value);
          await expectSafe(ep, { payload: JSON.stringify(body) });
        }
      }
    });
  }

  test('a body larger than any valid one: 413, nothing changes', async () => {
    const status = await expectSafe(ep, { payload: oversized() });
    expect(status).toBe(413);
  });

  if (ep.body && ep.family !== 'scim') {
    // SCIM is exempt: API.md has it accept what identity providers send ("True", a value object without path).
    test('every typed field set to a value of another JSON type: 400, nothing changes (bodies are never coerced)', async () => {
      const base = ep.body!();
      const leaves = nodes(base).leaves.filter(
        (path) => typeof valueAt(base, path) !== 'object' || valueAt(base, path) === null,
      );
      expect(leaves.length).toBeGreaterThan(0);
      const before = await snapshot();
      let cases = 0;
      for (const path of leaves) {
        const value = valueAt(base, path);
        const nullable = (ep.nullable ?? []).includes(String(path[path.length - 1]));
        for (const wrong of wrongTypes(value, nullable)) {
          const body = ep.body!();
          setAt(body, path, wrong);
          const res = await send(ep, { payload: JSON.stringify(body) });
          expect(res.statusCode, `${path.join('.')} = ${JSON.stringify(wrong)}: ${describeResponse(res)}`).toBe(400);
          cases++;
        }
      }
      expect(cases).toBeGreaterThan(leaves.length);
      expect(await snapshot(), `${ep.method} ${ep.route}: a wrongly typed body changed the database`).toBe(before);
    });
  }
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

test('the largest valid inputs fit their routes: 100,000 customer IDs in a reassign, 10,000 full rows in a bulk create or import', async () => {
  const ids = Array.from({ length: 100_000 }, (_, i) => `${MISSING.slice(0, -6)}${String(i).padStart(6, '0')}`);
  const reassign = { kind: 'reassign-customers', from: { customerIds: ids }, to: { agentId: d.agentA.id } };
  // Not a 413: the body is read and the request refused for what it says (these customers do not exist).
  const preview = await api.call('POST', '/v1/handovers/preview', reassign);
  expect(preview.statusCode, preview.body.slice(0, 300)).not.toBe(413);
  expect(preview.statusCode).toBeLessThan(500);

  const name = '顧'.repeat(200);
  const row = (i: number) => ({
    officeId: MISSING, // an unknown office: refused after parsing, so nothing is created
    ownerId: null,
    name,
    email: `${'e'.repeat(300)}${i}@example.test`.slice(-320),
    phone: '+81 3 1234 5678',
    kind: 'both',
    subscribed: false,
    externalId: `${'x'.repeat(190)}${String(i).padStart(10, '0')}`,
  });
  const before = await snapshot();
  const bulk = await api.call('POST', '/v1/customers/bulk', {
    customers: Array.from({ length: 10_000 }, (_, i) => row(i)),
  });
  expect(bulk.statusCode, bulk.body.slice(0, 300)).not.toBe(413);
  expect(bulk.statusCode).toBeLessThan(500);
  const imported = await api.call('POST', '/v1/imports/customers', {
    ownerId: MISSING,
    mode: 'update-with-delete',
    transfer: true,
    customers: Array.from({ length: 10_000 }, (_, i) => {
      const { officeId: _o, ownerId: _w, ...rest } = row(i);
      return rest;
    }),
  });
  expect(imported.statusCode, imported.body.slice(0, 300)).not.toBe(413);
  expect(imported.statusCode).toBeLessThan(500);
  expect(await snapshot()).toBe(before);
});
