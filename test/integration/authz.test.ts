/**
 * Object-level authorization matrix. Two offices, A and B, each with an admin and a plain agent
 * (all with tokens); office B has one of everything (agents, customers, a trashed customer, a
 * record, callbacks with and without a customer, a lead source, notification settings, handover
 * rows, an integrity finding), every name and contact marked SECRET-B.
 *
 * For every endpoint that names one of B's objects (by path, query or body), the admin of office A
 * and the plain agent of office A get 403 or 404 — or, where API.md says so, 422 for a reference
 * to another office's agent inside a request about their own office — never a success, never a
 * SECRET-B value or an ID of B they did not send, and a refusal changes nothing in the database.
 * Lists filtered by B's objects answer 403, or their own office's items only. Random IDs get 403
 * or 404 as well.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, snapshotDatabase, type TestDatabase } from '../helpers/database';
import { createAgent, createCustomer, createToken, expectStatus, seedDirectory, setStatus } from '../helpers/directory';
import { connectTemporal, uniqueTaskQueue } from '../helpers/temporal';

const SCIM_TOKEN = 'authz-scim-token';

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;

/** Office A: what the callers own. */
let a: {
  office: string;
  admin: { id: string; token: string };
  agent: { id: string; token: string };
  agent2: string;
  customer: string;
  record: string;
  callback: string;
};
/** Office B: what they must not see or touch. */
let b: {
  office: string;
  admin: { id: string; token: string };
  agent: { id: string; token: string };
  secret: string;
  leaving: string;
  customer: string;
  trashed: string;
  record: string;
  callback: string;
  soloCallback: string;
  leadSource: string;
  completed: string;
  running: string;
};

const SECRET = 'SECRET-B';
const date = (day: number) => `2030-03-${String(day).padStart(2, '0')}T09:00:00Z`;

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('authz'), connectTemporal()]);
  // A task queue nobody polls: should a handover start by mistake, it is never worked on.
  api = await buildTestApi(database.db, temporal.client, {
    SCIM_TOKEN,
    TEMPORAL_TASK_QUEUE: uniqueTaskQueue('authz'),
  });
  const d = await seedDirectory(api);

  const aCustomer = await createCustomer(api, d.officeA, d.agentA.id);
  a = {
    office: d.officeA,
    admin: d.adminA,
    agent: d.agentA,
    agent2: d.agentA2.id,
    customer: aCustomer,
    record: expectStatus(
      await api.call('POST', `/v1/customers/${aCustomer}/records`, { type: 'task', title: 'A task' }),
      201,
    ).id,
    callback: expectStatus(
      await api.call('POST', '/v1/callbacks', {
        customerId: aCustomer,
        name: 'A caller',
        phone: '+81 1',
        startsAt: date(1),
        endsAt: date(2),
        assigneeId: d.agentA.id,
      }),
      201,
    ).id,
  };

  const secret = await createAgent(api, d.officeB, 'agent', {
    name: `${SECRET} agent`,
    email: 'secret-b.agent@example.test',
    externalId: `${SECRET}-agent-ext`,
  });
  const leaving = await createAgent(api, d.officeB, 'agent', { name: `${SECRET} leaving` });
  await setStatus(database.db, leaving, 'leaving'); // an integrity finding of office B
  const customer = await createCustomer(api, d.officeB, secret, {
    name: `${SECRET} customer`,
    email: 'secret-b.customer@example.test',
    phone: `${SECRET}-phone`,
    externalId: `${SECRET}-customer-ext`,
  });
  const trashed = await createCustomer(api, d.officeB, secret, {
    name: `${SECRET} trashed`,
    externalId: `${SECRET}-trashed-ext`,
  });
  expectStatus(await api.call('DELETE', `/v1/customers/${trashed}`), 200);
  const record = expectStatus(
    await api.call('POST', `/v1/customers/${customer}/records`, { type: 'note', title: `${SECRET} record` }),
    201,
  ).id;
  const callbackBody = { name: `${SECRET} caller`, phone: `${SECRET}-cb-phone`, note: `${SECRET} note` };
  const callback = expectStatus(
    await api.call('POST', '/v1/callbacks', {
      ...callbackBody,
      customerId: customer,
      startsAt: date(3),
      endsAt: date(4),
      assigneeId: secret,
    }),
    201,
  ).id;
  const soloCallback = expectStatus(
    await api.call('POST', '/v1/callbacks', {
      ...callbackBody,
      startsAt: date(5),
      endsAt: date(6),
      assigneeId: secret,
    }),
    201,
  ).id;
  const leadSource = 'leads-of-b';
  expectStatus(
    await api.call('PUT', `/v1/lead-sources/${leadSource}`, {
      name: `${SECRET} leads`,
      officeId: d.officeB,
      defaultAssigneeId: secret,
    }),
    200,
  );
  expectStatus(
    await api.call('PUT', `/v1/agents/${secret}/notification-settings/handover-finished`, { enabled: false }),
    200,
  );
  const handoverRow = (id: string, agentId: string, status: 'completed' | 'running') => ({
    id,
    kind: 'offboard' as const,
    agent_id: agentId,
    office_id: d.officeB,
    request: JSON.stringify({ kind: 'offboard', agentId, to: { unassign: true }, reason: `${SECRET} reason` }),
    request_hash: `${SECRET}-hash`,
    idempotency_key: status === 'completed' ? 'key-of-b' : null,
    started_by: 'org-admin',
    status,
    phase: status === 'completed' ? ('done' as const) : ('moving' as const),
    finished_at: status === 'completed' ? new Date() : null,
  });
  const completed = 'handover-b-completed';
  const running = 'handover-b-running';
  await database.db
    .insertInto('handovers')
    .values([handoverRow(completed, secret, 'completed'), handoverRow(running, d.agentB.id, 'running')])
    .execute();

  b = {
    office: d.officeB,
    admin: d.adminB,
    agent: { id: d.agentB.id, token: await createToken(api, d.agentB.id) },
    secret,
    leaving,
    customer,
    trashed,
    record,
    callback,
    soloCallback,
    leadSource,
    completed,
    running,
  };
});

afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

const snapshot = () => snapshotDatabase(database.db);

// ---------------------------------------------------------------------------------------------

type Actor = 'admin of A' | 'agent of A';
const ACTORS: Actor[] = ['admin of A', 'agent of A'];
const tokenOf = (actor: Actor) => (actor === 'admin of A' ? a.admin.token : a.agent.token);

/**
 * deny: 403 or 404. refuse: 403, 404, 409 or 422 (API.md: an owner, assignee or successor of
 * another office in a request about one's own office is a 422; an externalId taken anywhere in the
 * organisation a 409). list: 403/404, or 200 with none of B's items.
 */
type Expect = 'deny' | 'refuse' | 'list';

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: () => string;
  body?: () => unknown;
  expect: Expect;
  headers?: Record<string, string>;
}

const cases: Case[] = [
  // Offices
  { name: 'list offices', method: 'GET', url: () => '/v1/offices', expect: 'list' },
  { name: 'create an office', method: 'POST', url: () => '/v1/offices', body: () => ({ name: 'new' }), expect: 'deny' },

  // Agents
  { name: "read B's agent", method: 'GET', url: () => `/v1/agents/${b.secret}`, expect: 'deny' },
  { name: "read B's admin", method: 'GET', url: () => `/v1/agents/${b.admin.id}`, expect: 'deny' },
  {
    name: "mark B's agent absent",
    method: 'PATCH',
    url: () => `/v1/agents/${b.secret}`,
    body: () => ({ status: 'absent' }),
    expect: 'deny',
  },
  { name: "give B's agent a token", method: 'POST', url: () => `/v1/agents/${b.secret}/tokens`, expect: 'deny' },
  { name: "give B's admin a token", method: 'POST', url: () => `/v1/agents/${b.admin.id}/tokens`, expect: 'deny' },
  {
    name: 'create an agent (an admin) in B',
    method: 'POST',
    url: () => '/v1/agents',
    body: () => ({ officeId: b.office, name: 'intruder', email: 'intruder@example.test', role: 'admin' }),
    expect: 'deny',
  },
  {
    name: "an agent of A taking B's agent's externalId",
    method: 'POST',
    url: () => '/v1/agents',
    body: () => ({
      officeId: a.office,
      name: 'x',
      email: 'x@example.test',
      role: 'agent',
      externalId: `${SECRET}-agent-ext`,
    }),
    expect: 'refuse',
  },
  { name: "list B's agents", method: 'GET', url: () => `/v1/agents?officeId=${b.office}`, expect: 'deny' },
  { name: 'list agents (own office only)', method: 'GET', url: () => '/v1/agents', expect: 'list' },
  { name: 'list leaving agents', method: 'GET', url: () => '/v1/agents?status=leaving', expect: 'list' },

  // Notification settings
  {
    name: "read B's agent's notification settings",
    method: 'GET',
    url: () => `/v1/agents/${b.secret}/notification-settings`,
    expect: 'deny',
  },
  {
    name: "change B's agent's notification settings",
    method: 'PUT',
    url: () => `/v1/agents/${b.secret}/notification-settings/handover-finished`,
    body: () => ({ enabled: true }),
    expect: 'deny',
  },
  {
    name: "change B's agent's mandatory notification setting",
    method: 'PUT',
    url: () => `/v1/agents/${b.secret}/notification-settings/customers-assigned`,
    body: () => ({ enabled: false }),
    expect: 'deny',
  },

  // Lead sources
  {
    name: "take over B's lead source into A",
    method: 'PUT',
    url: () => `/v1/lead-sources/${b.leadSource}`,
    body: () => ({ name: 'hijacked', officeId: a.office, defaultAssigneeId: null }),
    expect: 'deny',
  },
  {
    name: "rewrite B's lead source in place",
    method: 'PUT',
    url: () => `/v1/lead-sources/${b.leadSource}`,
    body: () => ({ name: 'hijacked', officeId: b.office, defaultAssigneeId: null }),
    expect: 'deny',
  },
  {
    name: 'create a lead source in B',
    method: 'PUT',
    url: () => '/v1/lead-sources/new-in-b',
    body: () => ({ name: 'new', officeId: b.office, defaultAssigneeId: null }),
    expect: 'deny',
  },
  {
    name: "a lead source of A defaulting to B's agent",
    method: 'PUT',
    url: () => '/v1/lead-sources/a-to-b',
    body: () => ({ name: 'new', officeId: a.office, defaultAssigneeId: b.secret }),
    expect: 'refuse',
  },
  { name: "list B's lead sources", method: 'GET', url: () => `/v1/lead-sources?officeId=${b.office}`, expect: 'deny' },
  {
    name: "list lead sources by B's agent",
    method: 'GET',
    url: () => `/v1/lead-sources?defaultAssigneeId=${b.secret}`,
    expect: 'list',
  },
  { name: 'list lead sources', method: 'GET', url: () => '/v1/lead-sources', expect: 'list' },

  // Customers
  { name: "read B's customer", method: 'GET', url: () => `/v1/customers/${b.customer}`, expect: 'deny' },
  { name: "read B's trashed customer", method: 'GET', url: () => `/v1/customers/${b.trashed}`, expect: 'deny' },
  {
    name: "read B's customer's history",
    method: 'GET',
    url: () => `/v1/customers/${b.customer}/history`,
    expect: 'deny',
  },
  {
    name: "list B's customer's records",
    method: 'GET',
    url: () => `/v1/customers/${b.customer}/records`,
    expect: 'deny',
  },
  {
    name: "add a record to B's customer",
    method: 'POST',
    url: () => `/v1/customers/${b.customer}/records`,
    body: () => ({ type: 'task', title: 'x' }),
    expect: 'deny',
  },
  {
    name: "change B's record",
    method: 'PATCH',
    url: () => `/v1/customers/${b.customer}/records/${b.record}`,
    body: () => ({ status: 'done' }),
    expect: 'deny',
  },
  {
    name: "change B's record through A's customer",
    method: 'PATCH',
    url: () => `/v1/customers/${a.customer}/records/${b.record}`,
    body: () => ({ status: 'done' }),
    expect: 'deny',
  },
  {
    name: "assign A's record to B's agent",
    method: 'PATCH',
    url: () => `/v1/customers/${a.customer}/records/${a.record}`,
    body: () => ({ assigneeId: b.secret }),
    expect: 'refuse',
  },
  {
    name: "a record of A's customer for B's agent",
    method: 'POST',
    url: () => `/v1/customers/${a.customer}/records`,
    body: () => ({ type: 'task', title: 'x', assigneeId: b.secret }),
    expect: 'refuse',
  },
  { name: "trash B's customer", method: 'DELETE', url: () => `/v1/customers/${b.customer}`, expect: 'deny' },
  { name: "restore B's customer", method: 'POST', url: () => `/v1/customers/${b.trashed}/restore`, expect: 'deny' },
  {
    name: 'create a customer in B',
    method: 'POST',
    url: () => '/v1/customers',
    body: () => ({ officeId: b.office, ownerId: null, name: 'x', kind: 'buyer' }),
    expect: 'deny',
  },
  {
    name: "a customer of A owned by B's agent",
    method: 'POST',
    url: () => '/v1/customers',
    body: () => ({ officeId: a.office, ownerId: b.secret, name: 'x', kind: 'buyer' }),
    expect: 'refuse',
  },
  {
    name: "a customer in B owned by A's agent",
    method: 'POST',
    url: () => '/v1/customers',
    body: () => ({ officeId: b.office, ownerId: a.agent.id, name: 'x', kind: 'buyer' }),
    expect: 'deny',
  },
  {
    name: 'bulk-create customers in B (with one in A)',
    method: 'POST',
    url: () => '/v1/customers/bulk',
    body: () => ({
      customers: [
        { officeId: a.office, ownerId: null, name: 'x', kind: 'buyer' },
        { officeId: b.office, ownerId: null, name: 'y', kind: 'buyer' },
      ],
    }),
    expect: 'deny',
  },
  {
    name: "bulk-create a customer of A owned by B's agent",
    method: 'POST',
    url: () => '/v1/customers/bulk',
    body: () => ({ customers: [{ officeId: a.office, ownerId: b.secret, name: 'x', kind: 'buyer' }] }),
    expect: 'refuse',
  },
  {
    name: "a customer of A taking B's customer's externalId",
    method: 'POST',
    url: () => '/v1/customers',
    body: () => ({ officeId: a.office, ownerId: null, name: 'x', kind: 'buyer', externalId: `${SECRET}-customer-ext` }),
    // A 409 (a duplicate externalId), but it must not name B's customer.
    expect: 'refuse',
  },
  {
    name: "bulk-create a customer of A with B's customer's externalId",
    method: 'POST',
    url: () => '/v1/customers/bulk',
    body: () => ({
      customers: [{ officeId: a.office, ownerId: null, name: 'x', kind: 'buyer', externalId: `${SECRET}-trashed-ext` }],
    }),
    expect: 'refuse',
  },
  {
    name: "list B's customers",
    method: 'GET',
    url: () => `/v1/customers?officeId=${b.office}&trashed=any`,
    expect: 'list',
  },
  {
    name: "list B's agent's customers",
    method: 'GET',
    url: () => `/v1/customers?ownerId=${b.secret}&trashed=any`,
    expect: 'list',
  },
  { name: 'list customers', method: 'GET', url: () => '/v1/customers?trashed=any', expect: 'list' },

  // Imports
  {
    name: "import into B's agent",
    method: 'POST',
    url: () => '/v1/imports/customers',
    body: () => ({ ownerId: b.secret, mode: 'update-with-delete', customers: [{ externalId: 'x', name: 'x' }] }),
    expect: 'deny',
  },
  {
    name: "import B's customer to A's agent (transfer)",
    method: 'POST',
    url: () => '/v1/imports/customers',
    body: () => ({
      ownerId: a.agent.id,
      mode: 'update',
      transfer: true,
      customers: [{ externalId: `${SECRET}-customer-ext`, name: 'stolen' }],
    }),
    expect: 'deny',
  },
  {
    name: "import B's customer to A's agent (no transfer: trashes B's)",
    method: 'POST',
    url: () => '/v1/imports/customers',
    body: () => ({
      ownerId: a.agent.id,
      mode: 'update',
      transfer: false,
      customers: [{ externalId: `${SECRET}-customer-ext`, name: 'stolen' }],
    }),
    expect: 'deny',
  },
  {
    name: "import B's trashed customer to A's agent",
    method: 'POST',
    url: () => '/v1/imports/customers',
    body: () => ({
      ownerId: a.agent.id,
      mode: 'update',
      customers: [{ externalId: `${SECRET}-trashed-ext`, name: 'x' }],
    }),
    expect: 'deny',
  },

  // Callbacks
  { name: "read B's callback", method: 'GET', url: () => `/v1/callbacks/${b.callback}`, expect: 'deny' },
  {
    name: "read B's callback without customer",
    method: 'GET',
    url: () => `/v1/callbacks/${b.soloCallback}`,
    expect: 'deny',
  },
  {
    name: "change B's callback",
    method: 'PATCH',
    url: () => `/v1/callbacks/${b.callback}`,
    body: () => ({ note: 'x' }),
    expect: 'deny',
  },
  {
    name: "take B's callback (without customer) over",
    method: 'PATCH',
    url: () => `/v1/callbacks/${b.soloCallback}`,
    body: () => ({ assigneeId: a.agent.id }),
    expect: 'deny',
  },
  {
    name: "give A's callback to B's agent",
    method: 'PATCH',
    url: () => `/v1/callbacks/${a.callback}`,
    body: () => ({ assigneeId: b.secret }),
    expect: 'refuse',
  },
  {
    name: "a callback for B's customer",
    method: 'POST',
    url: () => '/v1/callbacks',
    body: () => ({
      customerId: b.customer,
      name: 'x',
      phone: '1',
      startsAt: date(7),
      endsAt: date(8),
      assigneeId: a.agent.id,
    }),
    expect: 'refuse',
  },
  {
    name: "a callback for B's agent",
    method: 'POST',
    url: () => '/v1/callbacks',
    body: () => ({ name: 'x', phone: '1', startsAt: date(7), endsAt: date(8), assigneeId: b.secret }),
    expect: 'deny',
  },
  {
    name: "list B's agent's callbacks",
    method: 'GET',
    url: () => `/v1/callbacks?assigneeId=${b.secret}`,
    expect: 'deny',
  },
  {
    name: "list B's customer's callbacks",
    method: 'GET',
    url: () => `/v1/callbacks?customerId=${b.customer}`,
    expect: 'list',
  },
  { name: 'list callbacks', method: 'GET', url: () => '/v1/callbacks', expect: 'list' },
  { name: 'list callbacks as CSV', method: 'GET', url: () => '/v1/callbacks?format=csv', expect: 'list' },

  // Handovers
  { name: "read B's finished handover", method: 'GET', url: () => `/v1/handovers/${b.completed}`, expect: 'deny' },
  { name: "read B's running handover", method: 'GET', url: () => `/v1/handovers/${b.running}`, expect: 'deny' },
  {
    name: "cancel B's finished handover",
    method: 'POST',
    url: () => `/v1/handovers/${b.completed}/cancel`,
    expect: 'deny',
  },
  {
    name: "cancel B's running handover",
    method: 'POST',
    url: () => `/v1/handovers/${b.running}/cancel`,
    expect: 'deny',
  },
  {
    name: "recheck B's finished handover",
    method: 'POST',
    url: () => `/v1/handovers/${b.completed}/recheck`,
    expect: 'deny',
  },
  {
    name: "recheck B's running handover",
    method: 'POST',
    url: () => `/v1/handovers/${b.running}/recheck`,
    expect: 'deny',
  },
  { name: "list B's agent's handovers", method: 'GET', url: () => `/v1/handovers?agentId=${b.secret}`, expect: 'list' },
  { name: 'list handovers', method: 'GET', url: () => '/v1/handovers', expect: 'list' },
  ...(['/v1/handovers', '/v1/handovers/preview'] as const).flatMap((url): Case[] => [
    {
      name: `${url}: offboard B's agent`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'offboard', agentId: b.secret, to: { agentId: b.admin.id } }),
      expect: 'deny',
    },
    {
      name: `${url}: offboard B's agent, with an Idempotency-Key of B's`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'offboard', agentId: b.secret, to: { unassign: true } }),
      headers: { 'idempotency-key': 'b-key' },
      expect: 'deny',
    },
    {
      name: `${url}: transfer B's agent into A`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'transfer', agentId: b.secret, toOfficeId: a.office, customers: 'move' }),
      expect: 'deny',
    },
    {
      name: `${url}: reassign B's customer to A's agent`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'reassign-customers', from: { customerIds: [b.customer] }, to: { agentId: a.agent.id } }),
      expect: 'deny',
    },
    {
      name: `${url}: reassign A's and B's customers`,
      method: 'POST',
      url: () => url,
      body: () => ({
        kind: 'reassign-customers',
        from: { customerIds: [a.customer, b.customer] },
        to: { agentId: a.agent.id },
      }),
      expect: 'deny',
    },
    {
      name: `${url}: reassign B's agent's customers`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'reassign-customers', from: { agentId: b.secret }, to: { unassign: true } }),
      expect: 'deny',
    },
    {
      name: `${url}: reassign B's agent's callbacks`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'reassign-callbacks', fromAgentId: b.secret, to: { agentId: a.agent.id } }),
      expect: 'deny',
    },
    {
      name: `${url}: offboard A's agent to B's agent`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'offboard', agentId: a.agent2, to: { agentId: b.secret } }),
      expect: 'refuse',
    },
    {
      name: `${url}: offboard A's agent with the Idempotency-Key of B's handover`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'offboard', agentId: a.agent2, to: { agentId: b.secret } }),
      headers: { 'idempotency-key': 'key-of-b' },
      expect: 'refuse',
    },
    {
      name: `${url}: offboard A's agent to B's leaving agent`,
      method: 'POST',
      url: () => url,
      body: () => ({ kind: 'offboard', agentId: a.agent2, to: { agentId: b.leaving } }),
      expect: 'refuse',
    },
    {
      name: `${url}: offboard A's agent to a pool with B's agent`,
      method: 'POST',
      url: () => url,
      body: () => ({
        kind: 'offboard',
        agentId: a.agent2,
        to: { pool: [a.agent.id, b.secret], strategy: 'least-loaded' },
      }),
      expect: 'refuse',
    },
  ]),

  // Operations
  { name: "B's integrity findings", method: 'GET', url: () => `/v1/integrity?officeId=${b.office}`, expect: 'deny' },
  { name: 'integrity findings', method: 'GET', url: () => '/v1/integrity', expect: 'list' },
];

/** Every ID and marker of office B. */
const bValues = () => [
  SECRET,
  'secret-b.',
  b.office,
  b.admin.id,
  b.agent.id,
  b.secret,
  b.leaving,
  b.customer,
  b.trashed,
  b.record,
  b.callback,
  b.soloCallback,
  b.leadSource,
  b.completed,
  b.running,
];

/** B's values in the answer that the request did not itself contain. */
function leaks(res: LightMyRequestResponse, sent: string): string[] {
  return bValues().filter((value) => res.body.includes(value) && !sent.includes(value));
}

const show = (res: LightMyRequestResponse) => `${res.statusCode} ${res.body.slice(0, 400)}`;

async function check(c: Case, actor: Actor): Promise<void> {
  const url = c.url();
  const body = c.body?.();
  const before = await snapshot();
  const res = await api.call(c.method, url, body, tokenOf(actor), c.headers);
  const sent = `${url} ${JSON.stringify(body ?? null)} ${JSON.stringify(c.headers ?? {})}`;
  expect(leaks(res, sent), `${actor}: ${c.method} ${url} leaked: ${show(res)}`).toEqual([]);
  const allowed = c.expect === 'refuse' ? [403, 404, 409, 422] : c.expect === 'list' ? [200, 403, 404] : [403, 404];
  expect(allowed, `${actor}: ${c.method} ${url} → ${show(res)}`).toContain(res.statusCode);
  if (res.statusCode >= 400) {
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: res.statusCode, title: expect.any(String), detail: expect.any(String) });
  }
  expect(await snapshot(), `${actor}: ${c.method} ${url} changed the database (${show(res)})`).toBe(before);
}

describe.each(ACTORS)('as the %s', (actor) => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await check(c, actor);
  });
});

describe("sanity: the same requests by B's admin reach B's objects", () => {
  test.each([
    ['GET', () => `/v1/customers/${b.customer}`],
    ['GET', () => `/v1/callbacks/${b.soloCallback}`],
    ['GET', () => `/v1/handovers/${b.completed}`],
    ['GET', () => `/v1/agents/${b.secret}/notification-settings`],
    ['GET', () => `/v1/customers/${b.customer}/records`],
  ] as const)('%s %s', async (method, url) => {
    const res = await api.call(method, url(), undefined, b.admin.token);
    expect(res.statusCode, show(res)).toBe(200);
  });

  test('and the plain agent of A reads its own customer and callback', async () => {
    expectStatus(await api.call('GET', `/v1/customers/${a.customer}`, undefined, a.agent.token), 200);
    expectStatus(await api.call('GET', `/v1/callbacks/${a.callback}`, undefined, a.agent.token), 200);
  });
});

// ---------------------------------------------------------------------------------------------
// Random IDs: whatever the ID, 403 or 404 and nothing changes.

const randomId = fc.oneof(
  fc.uuid(),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/),
  fc.constant(randomBytes(16).toString('hex')),
);

/** Every byte percent-encoded: any string makes a valid path segment. */
const enc = (s: string) => [...Buffer.from(s, 'utf8')].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');

interface Template {
  name?: string;
  method: Case['method'];
  url: (id: string) => string;
  body?: (id: string) => unknown;
}

const templates: Template[] = [
  { method: 'GET', url: (id) => `/v1/agents/${id}` },
  { method: 'PATCH', url: (id) => `/v1/agents/${id}`, body: () => ({ status: 'absent' }) },
  { method: 'POST', url: (id) => `/v1/agents/${id}/tokens` },
  { method: 'GET', url: (id) => `/v1/agents/${id}/notification-settings` },
  {
    method: 'PUT',
    url: (id) => `/v1/agents/${id}/notification-settings/handover-finished`,
    body: () => ({ enabled: false }),
  },
  { method: 'GET', url: (id) => `/v1/customers/${id}` },
  { method: 'DELETE', url: (id) => `/v1/customers/${id}` },
  { method: 'POST', url: (id) => `/v1/customers/${id}/restore` },
  { method: 'GET', url: (id) => `/v1/customers/${id}/history` },
  { method: 'GET', url: (id) => `/v1/customers/${id}/records` },
  { method: 'POST', url: (id) => `/v1/customers/${id}/records`, body: () => ({ type: 'task', title: 'x' }) },
  { method: 'PATCH', url: (id) => `/v1/customers/${id}/records/${id}`, body: () => ({ status: 'done' }) },
  {
    name: "PATCH /v1/customers/{B's customer}/records/{id}",
    method: 'PATCH',
    url: (id) => `/v1/customers/${b.customer}/records/${id}`,
    body: () => ({ status: 'done' }),
  },
  { method: 'GET', url: (id) => `/v1/callbacks/${id}` },
  { method: 'PATCH', url: (id) => `/v1/callbacks/${id}`, body: () => ({ note: 'x' }) },
  { method: 'GET', url: (id) => `/v1/handovers/${id}` },
  { method: 'POST', url: (id) => `/v1/handovers/${id}/cancel` },
  { method: 'POST', url: (id) => `/v1/handovers/${id}/recheck` },
  {
    method: 'PUT',
    url: () => '/v1/lead-sources/random-key',
    body: (id) => ({ name: 'x', officeId: id, defaultAssigneeId: null }),
  },
];

/**
 * Dot segments: in a path, `.` and `..` (percent-encoded too) are normalised away, so such an "ID"
 * names no resource and the request is one with an empty ID (400) or for no route (404). `.` is a
 * counterexample a run found (`PATCH …/records/.` answered 400); both stay as fixed examples.
 */
const DOT_SEGMENTS = ['.', '..'];

describe.each(ACTORS)('random IDs, as the %s', (actor) => {
  test.each(templates.map((t) => [t.name ?? `${t.method} ${t.url('{id}')}`, t] as const))(
    '%s → 403 or 404',
    async (_n, t) => {
      const inPath = t.url('probe').includes('probe');
      await fc.assert(
        fc.asyncProperty(randomId, async (id) => {
          const body = t.body?.(id);
          const before = await snapshot();
          const res = await api.call(t.method, t.url(enc(id)), body, tokenOf(actor));
          const allowed = inPath && DOT_SEGMENTS.includes(id) ? [400, 403, 404] : [403, 404];
          expect(allowed, `${actor}: ${t.method} ${t.url(id)} → ${show(res)}`).toContain(res.statusCode);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(leaks(res, t.url(id))).toEqual([]);
          expect(await snapshot()).toBe(before);
        }),
        { numRuns: 15, examples: DOT_SEGMENTS.map((id) => [id]) },
      );
    },
  );
});

test("A's tokens are no SCIM credentials", async () => {
  for (const token of [a.admin.token, a.agent.token]) {
    const res = await api.app.inject({
      method: 'GET',
      url: `/scim/v2/Users/${b.secret}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain(SECRET);
  }
});
