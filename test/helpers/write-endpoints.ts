/**
 * Every write endpoint (POST/PUT/PATCH/DELETE under /v1/ and /scim/v2) with real path parameters
 * and a valid body, as the hostile-input tests (test/integration/hostile-input-*.test.ts) send
 * them; hostile-input-properties.test.ts checks the table against the OpenAPI document, so a new
 * endpoint without a row here fails. The targets are the ones `useHostileInput`
 * (test/helpers/hostile-input.ts) sets up.
 */
import { ENTERPRISE, hostile, OFFICE_EXT, PATCH_SCHEMA, USER_SCHEMA, uniq } from './hostile-input';

export type Family = 'v1' | 'scim' | 'hr';
export type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Endpoint {
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

export const endpoints: Endpoint[] = [
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
    body: () => ({
      officeId: hostile.d.officeA,
      name: uniq('agent'),
      email: `${uniq('a')}@example.test`,
      role: 'agent',
    }),
  },
  {
    method: 'PATCH',
    route: '/v1/agents/{id}',
    family: 'v1',
    params: () => [hostile.d.agentA2.id],
    body: () => ({ status: 'absent' }),
  },
  { method: 'POST', route: '/v1/agents/{id}/tokens', family: 'v1', params: () => [hostile.d.agentA2.id] },
  {
    method: 'PUT',
    route: '/v1/agents/{id}/notification-settings/{kind}',
    family: 'v1',
    params: () => [hostile.d.agentA.id, 'callbacks-assigned'],
    body: () => ({ enabled: false }),
  },
  {
    method: 'PUT',
    route: '/v1/lead-sources/{key}',
    nullable: ['defaultAssigneeId'],
    family: 'v1',
    params: () => ['hostile-lead-source'],
    body: () => ({ name: uniq('lead'), officeId: hostile.d.officeA, defaultAssigneeId: hostile.d.agentA.id }),
  },
  {
    method: 'POST',
    route: '/v1/customers',
    nullable: ['ownerId'],
    family: 'v1',
    params: () => [],
    body: () => ({
      officeId: hostile.d.officeA,
      ownerId: hostile.d.agentA.id,
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
        {
          officeId: hostile.d.officeA,
          ownerId: hostile.d.agentA.id,
          name: uniq('bulk'),
          kind: 'seller',
          phone: '+81 1',
        },
        { officeId: hostile.d.officeA, ownerId: null, name: uniq('bulk'), kind: 'both', externalId: uniq('bulk-ext') },
      ],
    }),
  },
  { method: 'DELETE', route: '/v1/customers/{id}', family: 'v1', params: () => [hostile.ids.customer] },
  { method: 'POST', route: '/v1/customers/{id}/restore', family: 'v1', params: () => [hostile.ids.customer] },
  {
    method: 'POST',
    route: '/v1/customers/{id}/records',
    nullable: ['dueAt', 'assigneeId'],
    family: 'v1',
    params: () => [hostile.ids.customer],
    body: () => ({
      type: 'task',
      title: uniq('record'),
      dueAt: '2030-01-01T00:00:00Z',
      assigneeId: hostile.d.agentA.id,
    }),
  },
  {
    method: 'PATCH',
    route: '/v1/customers/{id}/records/{recordId}',
    nullable: ['dueAt', 'assigneeId'],
    family: 'v1',
    params: () => [hostile.ids.customer, hostile.ids.record],
    body: () => ({ title: uniq('title'), status: 'open', dueAt: null }),
  },
  {
    method: 'POST',
    route: '/v1/imports/customers',
    nullable: ['email', 'phone'],
    family: 'v1',
    params: () => [],
    body: () => ({
      ownerId: hostile.d.agentA.id,
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
      customerId: hostile.ids.customer,
      name: uniq('caller'),
      phone: '+81 3 1234 5678',
      startsAt: '2030-02-01T09:00:00Z',
      endsAt: '2030-02-01T10:00:00Z',
      assigneeId: hostile.d.agentA.id,
      campaign: 'spring',
      note: 'call back',
    }),
  },
  {
    method: 'PATCH',
    route: '/v1/callbacks/{id}',
    nullable: ['note'],
    family: 'v1',
    params: () => [hostile.ids.callback],
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
      agentId: hostile.d.agentA.id,
      to: { agentId: hostile.d.agentA.id },
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
      agentId: hostile.d.agentA2.id,
      to: { pool: [hostile.d.agentA.id], strategy: 'round-robin' },
      reason: 'leaves',
      effectiveAt: '2030-01-01T00:00:00Z',
    }),
  },
  { method: 'POST', route: '/v1/handovers/{id}/cancel', family: 'v1', params: () => [hostile.ids.handover] },
  { method: 'POST', route: '/v1/handovers/{id}/recheck', family: 'v1', params: () => [hostile.ids.handover] },
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
    params: () => [hostile.ids.scimUser],
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
    params: () => [hostile.ids.scimUser],
    body: () => ({
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: 'replace', path: 'displayName', value: uniq('Renamed') },
        { op: 'add', value: { externalId: uniq('scim-ext'), name: { formatted: 'Formatted' } } },
      ],
    }),
  },
];
