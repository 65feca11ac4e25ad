import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedOffice,
  waitForStatus,
} from '../helpers/handover-env';

const SCIM_TOKEN = 'test-scim-token';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('scim', { SCIM_TOKEN });
  await env.startWorker();
});
afterAll(() => env?.close());

function scim(method: string, url: string, body?: unknown, token: string | null = SCIM_TOKEN) {
  return env.api.call(
    method,
    `/scim/v2${url}`,
    body === undefined ? undefined : JSON.stringify(body),
    token,
    body === undefined ? {} : { 'content-type': 'application/scim+json' },
  );
}

// biome-ignore lint/suspicious/noExplicitAny: SCIM bodies are checked field by field
function ok(res: LightMyRequestResponse, status: number): any {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  return res.json();
}

function scimError(res: LightMyRequestResponse, status: number) {
  const body = ok(res, status);
  expect(body).toMatchObject({ schemas: [ERROR], status: String(status), detail: expect.any(String) });
  return body;
}

let n = 0;
async function office(): Promise<{ id: string; ext: string }> {
  const id = await seedOffice(env.db);
  const ext = `DEPT-${++n}-${randomUUID().slice(0, 6)}`;
  await env.db.updateTable('offices').set({ external_id: ext }).where('id', '=', id).execute();
  return { id, ext };
}

function newUser(dept: string, extra: Record<string, unknown> = {}) {
  const u = `u${++n}-${randomUUID().slice(0, 6)}`;
  return {
    schemas: [USER, ENTERPRISE],
    userName: `${u}@example.test`,
    externalId: `okta-${u}`,
    name: { givenName: 'Hana', familyName: 'Mori' },
    emails: [{ value: `${u}@example.test`, primary: true }],
    active: true,
    [ENTERPRISE]: { department: dept },
    ...extra,
  };
}

const agentRow = (id: string) => env.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const offboardsOf = (agentId: string) =>
  env.db.selectFrom('handovers').selectAll().where('agent_id', '=', agentId).where('kind', '=', 'offboard').execute();

describe('SCIM: auth, errors, ServiceProviderConfig', () => {
  test('no, wrong or admin token → 401 SCIM error', async () => {
    scimError(await scim('GET', '/Users', undefined, null), 401);
    scimError(await scim('GET', '/Users', undefined, 'nope'), 401);
    scimError(await scim('GET', '/ServiceProviderConfig', undefined, 'test-admin-token'), 401);
    // …and the SCIM token is no admin token for /v1/.
    expectStatus(await env.api.call('GET', '/v1/offices', undefined, SCIM_TOKEN), 401);
  });

  test('ServiceProviderConfig', async () => {
    const body = ok(await scim('GET', '/ServiceProviderConfig'), 200);
    expect(body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: expect.any(Number) },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
  });

  test('unknown user, unknown endpoint, unsupported filter, bad JSON → SCIM errors', async () => {
    scimError(await scim('GET', '/Users/does-not-exist'), 404);
    scimError(
      await scim('PATCH', '/Users/does-not-exist', {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', value: { active: false } }],
      }),
      404,
    );
    scimError(await scim('GET', '/Groups'), 404);
    expect(
      scimError(await scim('GET', `/Users?filter=${encodeURIComponent('name.familyName co "x"')}`), 400).scimType,
    ).toBe('invalidFilter');
    const res = await env.api.call('POST', '/scim/v2/Users', '{"userName":', SCIM_TOKEN, {
      'content-type': 'application/scim+json',
    });
    scimError(res, 400);
  });
});

describe('SCIM: provisioning', () => {
  test('POST creates an agent (userName = email, externalId, department = office externalId); GET reads it', async () => {
    const o = await office();
    const body = newUser(o.ext);
    const created = ok(await scim('POST', '/Users', body), 201);
    expect(created).toMatchObject({
      schemas: expect.arrayContaining([USER]),
      id: expect.any(String),
      userName: body.userName,
      externalId: body.externalId,
      displayName: 'Hana Mori',
      active: true,
      [ENTERPRISE]: { department: o.ext },
      meta: { resourceType: 'User', location: expect.stringContaining(`/scim/v2/Users/${created.id}`) },
    });
    const agent = await agentRow(created.id);
    expect(agent).toMatchObject({
      office_id: o.id,
      email: body.userName,
      external_id: body.externalId,
      name: 'Hana Mori',
      status: 'active',
      role: 'agent',
    });
    expect(ok(await scim('GET', `/Users/${created.id}`), 200)).toEqual(created);
    // The agent is visible in the directory API too.
    expect(expectStatus(await env.api.call('GET', `/v1/agents/${created.id}`), 200)).toMatchObject({
      externalId: body.externalId,
    });
  });

  test('POST accepts application/json too; displayName wins over name parts', async () => {
    const o = await office();
    const body = newUser(o.ext, { displayName: 'Mori Hana (Sales)' });
    const res = await env.api.call('POST', '/scim/v2/Users', body, SCIM_TOKEN);
    expect(ok(res, 201)).toMatchObject({ displayName: 'Mori Hana (Sales)' });
  });

  test('POST refusals: duplicate userName/externalId → 409 uniqueness; missing or unknown department → 400', async () => {
    const o = await office();
    const body = newUser(o.ext);
    ok(await scim('POST', '/Users', body), 201);
    expect(scimError(await scim('POST', '/Users', { ...body, externalId: 'other' }), 409).scimType).toBe('uniqueness');
    expect(scimError(await scim('POST', '/Users', { ...body, userName: `x${body.userName}` }), 409).scimType).toBe(
      'uniqueness',
    );
    const fresh = newUser(o.ext);
    scimError(await scim('POST', '/Users', { ...fresh, [ENTERPRISE]: undefined }), 400);
    scimError(await scim('POST', '/Users', { ...fresh, [ENTERPRISE]: { department: 'DEPT-nowhere' } }), 400);
    scimError(await scim('POST', '/Users', { ...fresh, userName: undefined }), 400);
  });

  test('filter userName eq (case-insensitive) and externalId eq → ListResponse', async () => {
    const o = await office();
    const body = newUser(o.ext);
    const created = ok(await scim('POST', '/Users', body), 201);
    const byName = ok(
      await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${body.userName.toUpperCase()}"`)}`),
      200,
    );
    expect(byName).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 1,
      startIndex: 1,
      itemsPerPage: 1,
      Resources: [{ id: created.id, userName: body.userName }],
    });
    const byExt = ok(
      await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${body.externalId}"`)}`),
      200,
    );
    expect(byExt.Resources.map((u: { id: string }) => u.id)).toEqual([created.id]);
    const none = ok(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody@example.test"')}`), 200);
    expect(none).toMatchObject({ totalResults: 0, Resources: [] });
  });

  test('PUT replaces attributes; PATCH replaces with and without path (Entra-style paths too)', async () => {
    const o = await office();
    const created = ok(await scim('POST', '/Users', newUser(o.ext)), 201);
    const put = ok(
      await scim('PUT', `/Users/${created.id}`, {
        schemas: [USER],
        userName: `renamed-${created.userName}`,
        externalId: created.externalId,
        displayName: 'Hana Mori-Sato',
        active: true,
        [ENTERPRISE]: { department: o.ext },
      }),
      200,
    );
    expect(put).toMatchObject({ userName: `renamed-${created.userName}`, displayName: 'Hana Mori-Sato', active: true });
    const patched = ok(
      await scim('PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'Replace', path: 'name.givenName', value: 'Haru' },
          { op: 'Replace', path: 'name.familyName', value: 'Ito' },
          { op: 'replace', value: { userName: `haru-${created.userName}` } },
          { op: 'Add', path: 'title', value: 'ignored' },
        ],
      }),
      200,
    );
    expect(patched).toMatchObject({ displayName: 'Haru Ito', userName: `haru-${created.userName}`, active: true });
    expect(await agentRow(created.id)).toMatchObject({ name: 'Haru Ito', email: `haru-${created.userName}` });
    // Changing office is a transfer, not an attribute.
    const other = await office();
    expect(
      scimError(
        await scim('PATCH', `/Users/${created.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', path: `${ENTERPRISE}:department`, value: other.ext }],
        }),
        400,
      ).scimType,
    ).toBe('mutability');
    scimError(await scim('PATCH', `/Users/${created.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'move' }] }), 400);
    scimError(
      await scim('PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'active', value: 'maybe' }],
      }),
      400,
    );
    expect((await agentRow(created.id)).status).toBe('active');
  });
});

describe('SCIM: deprovisioning', () => {
  async function provisioned() {
    const o = await office();
    const colleague = await seedAgent(env.db, o.id);
    const user = ok(await scim('POST', '/Users', newUser(o.ext)), 201);
    await seedBook(env.db, o.id, user.id, 3, 1);
    return { office: o, colleague, user };
  }

  async function settled(agentId: string) {
    const [handover] = await offboardsOf(agentId);
    expect(handover).toBeDefined();
    const done = await waitForStatus(env.api, handover!.id, ['completed', 'failed', 'compensated']);
    expect(done.status).toBe('completed');
    return done;
  }

  test.each([
    ['Okta: replace without path', [{ op: 'replace', value: { active: false } }]],
    ['replace with path', [{ op: 'replace', path: 'active', value: false }]],
    ['Entra: Replace with "False"', [{ op: 'Replace', path: 'active', value: 'False' }]],
    ['add with path', [{ op: 'add', path: 'active', value: false }]],
  ])('PATCH %s → one offboard to the office pool (least-loaded); active false', async (_label, operations) => {
    const { user, colleague } = await provisioned();
    const res = await scim('PATCH', `/Users/${user.id}`, { schemas: [PATCH_OP], Operations: operations });
    expect(ok(res, 200)).toMatchObject({ id: user.id, active: false });
    const handovers = await offboardsOf(user.id);
    expect(handovers).toHaveLength(1);
    expect(handovers[0]!.request.to).toEqual({ pool: [colleague], strategy: 'least-loaded' });
    const done = await settled(user.id);
    expect(done.summary.bySuccessor).toEqual({ [colleague]: 3 });
    expect((await agentRow(user.id)).status).toBe('offboarded');
    expect(ok(await scim('GET', `/Users/${user.id}`), 200).active).toBe(false);
  });

  test('PUT with active false deprovisions too', async () => {
    const { user, office: o } = await provisioned();
    const res = await scim('PUT', `/Users/${user.id}`, {
      schemas: [USER, ENTERPRISE],
      userName: user.userName,
      externalId: user.externalId,
      displayName: user.displayName,
      active: false,
      [ENTERPRISE]: { department: o.ext },
    });
    expect(ok(res, 200).active).toBe(false);
    await settled(user.id);
  });

  test('repeated PATCHes, sequential and concurrent, start exactly one offboard', async () => {
    const { user } = await provisioned();
    const patch = () =>
      scim('PATCH', `/Users/${user.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', value: { active: false } }],
      });
    const concurrent = await Promise.all(Array.from({ length: 5 }, patch));
    for (const res of concurrent) expect(ok(res, 200).active).toBe(false);
    expect(await offboardsOf(user.id)).toHaveLength(1);
    ok(await patch(), 200);
    await settled(user.id);
    // After it finished, the IdP says it again: nothing new.
    expect(ok(await patch(), 200).active).toBe(false);
    expect(
      ok(
        await scim('PATCH', `/Users/${user.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
        }),
        200,
      ).active,
    ).toBe(false);
    expect(await offboardsOf(user.id)).toHaveLength(1);
    // …and it cannot be reactivated.
    scimError(
      await scim('PATCH', `/Users/${user.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'active', value: true }],
      }),
      409,
    );
  });

  test('nobody else active in the office → SCIM error, nothing started', async () => {
    const o = await office();
    const user = ok(await scim('POST', '/Users', newUser(o.ext)), 201);
    scimError(
      await scim('PATCH', `/Users/${user.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'active', value: false }],
      }),
      422,
    );
    expect(await offboardsOf(user.id)).toHaveLength(0);
    expect(ok(await scim('GET', `/Users/${user.id}`), 200).active).toBe(true);
  });
});
