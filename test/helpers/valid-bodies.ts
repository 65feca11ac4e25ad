/**
 * The table of valid bodies for test/integration/hostile-input-never-coerced.test.ts: each write
 * route with a JSON body (SCIM aside), each handover kind and HR event type, every field the
 * route's schema names set to a valid value; and what those bodies work on (`seedValidBodyTargets`,
 * on the database `useHostileInput` set up), so that each valid body really succeeds.
 */
import { createAgent, createCustomer, expectStatus, setStatus } from './directory';
import { hostile, uniq } from './hostile-input';
import type { Endpoint } from './write-endpoints';

export interface TypedRoute extends Endpoint {
  name: string;
  /** The status its valid body answers. */
  ok: number;
  /** Fields (dotted paths) that may be null. */
  nullablePaths?: string[];
}

/** What the typed routes work on, apart from the targets of `useHostileInput`: their valid bodies really succeed. */
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

export const typedRoutes: TypedRoute[] = [
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

/** Creates what the valid bodies name (before the file's first typed case). */
export async function seedValidBodyTargets(): Promise<void> {
  const { api, database } = hostile;
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
}

async function createOfficeWithExt(): Promise<{ id: string; externalId: string }> {
  const externalId = uniq('typed-office');
  const id = expectStatus(await hostile.api.call('POST', '/v1/offices', { name: uniq('Typed'), externalId }), 201).id;
  return { id, externalId };
}
