/**
 * What an attacker tries, end to end on real Temporal, PostgreSQL and SMTP (API.md, Auth and
 * Conventions): taking over an office through a transfer, acting on oneself, escaping one's own
 * deprovisioning, claiming the keys that HR and SCIM use, and reaching a route without a token
 * through another form of its path.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/api';
import { createToken, expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedCallback,
  seedOffice,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { sendHrEvent } from '../helpers/hr';
import { agentStatus, offboard, seedLeadSource } from '../helpers/offboard-api';

const SCIM_TOKEN = 'security-scim-token';
const HR_KEY = randomBytes(32);
const HR_SECRET = `whsec_${HR_KEY.toString('base64')}`;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let env: HandoverEnv;
beforeAll(async () => {
  env = await createHandoverEnv('security', { SCIM_TOKEN, HR_WEBHOOK_SECRET: HR_SECRET });
  await env.startWorker();
});
afterAll(() => env?.close());

const call = (method: string, url: string, body?: unknown, token: string | null = ADMIN_TOKEN, headers = {}) =>
  env.api.call(method, url, body, token, headers);

async function office(): Promise<{ id: string; ext: string }> {
  const id = await seedOffice(env.db);
  const ext = `ext-${randomUUID()}`;
  await env.db.updateTable('offices').set({ external_id: ext }).where('id', '=', id).execute();
  return { id, ext };
}

async function admin(officeId: string) {
  const id = await seedAgent(env.db, officeId, { role: 'admin' });
  return { id, token: await createToken(env.api, id) };
}

async function withExternalId(agentId: string): Promise<string> {
  const ext = `emp-${randomUUID()}`;
  await env.db.updateTable('agents').set({ external_id: ext }).where('id', '=', agentId).execute();
  return ext;
}

const hrEvent = (body: unknown, id?: string) => sendHrEvent(env.api, HR_KEY, body, id);

const scimPatch = (id: string, operations: unknown[]) =>
  env.api.call(
    'PATCH',
    `/scim/v2/Users/${id}`,
    JSON.stringify({ schemas: [PATCH_OP], Operations: operations }),
    SCIM_TOKEN,
    {
      'content-type': 'application/scim+json',
    },
  );

const rowOf = (id: string) => env.db.selectFrom('handovers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('office takeover through a transfer', () => {
  test('a transferred admin arrives as a plain agent with no working token; the new office gives it rights', async () => {
    const from = await office();
    const to = await office();
    const boss = await admin(from.id);
    const mover = await admin(from.id);
    const newBoss = await admin(to.id);
    await seedBook(env.db, from.id, mover.id, 3, 1);
    // While the transfer waits on a lead source, the leaving admin administers nothing: neither office.
    const key = await seedLeadSource(env, from.id, mover.id);
    const started = expectStatus(
      await call(
        'POST',
        '/v1/handovers',
        { kind: 'transfer', agentId: mover.id, toOfficeId: to.id, customers: 'move' },
        boss.token,
      ),
      202,
    );
    await waitForStatus(env.api, started.id, ['blocked']);
    expectStatus(await call('GET', `/v1/agents?officeId=${from.id}`, undefined, mover.token), 403);
    expectStatus(await call('GET', `/v1/agents?officeId=${to.id}`, undefined, mover.token), 403);
    expectStatus(await call('POST', `/v1/agents/${boss.id}/tokens`, undefined, mover.token), 403);
    expectStatus(await call('POST', `/v1/handovers/${started.id}/cancel`, undefined, mover.token), 403);

    const lead = { name: 'Portal', officeId: from.id, defaultAssigneeId: boss.id };
    expectStatus(await call('PUT', `/v1/lead-sources/${key}`, lead, boss.token), 200);
    expectStatus(await call('POST', `/v1/handovers/${started.id}/recheck`, undefined, boss.token), 202);
    await waitForStatus(env.api, started.id, ['completed']);

    const arrived = await env.db.selectFrom('agents').selectAll().where('id', '=', mover.id).executeTakeFirstOrThrow();
    expect([arrived.office_id, arrived.role, arrived.status]).toEqual([to.id, 'agent', 'active']);
    expectStatus(await call('GET', `/v1/agents/${newBoss.id}`, undefined, mover.token), 401);
    expectStatus(await call('GET', '/v1/customers', undefined, mover.token), 401);
    const tokens = await env.db.selectFrom('api_tokens').select('id').where('agent_id', '=', mover.id).execute();
    expect(tokens).toHaveLength(0);

    // Only the new office's admins (or the org admin) give it a token and promote it.
    expectStatus(await call('POST', `/v1/agents/${mover.id}/tokens`, undefined, boss.token), 403);
    expectStatus(await call('PATCH', `/v1/agents/${mover.id}`, { role: 'admin' }, boss.token), 403);
    const fresh = expectStatus(
      await call('POST', `/v1/agents/${mover.id}/tokens`, undefined, newBoss.token),
      201,
    ).token;
    const own = expectStatus(await call('GET', `/v1/customers?ownerId=${mover.id}`, undefined, fresh), 200);
    expect(own.items).toHaveLength(3);
    expectStatus(await call('GET', `/v1/agents?officeId=${to.id}`, undefined, fresh), 403);
    expectStatus(await call('PATCH', `/v1/agents/${mover.id}`, { role: 'admin' }, newBoss.token), 200);
    expectStatus(await call('GET', `/v1/agents?officeId=${to.id}`, undefined, fresh), 200);
  });

  test('no agent starts, cancels or rechecks a handover of itself, nor changes its own status or role', async () => {
    const o = await office();
    const self = await admin(o.id);
    const other = await admin(o.id);
    const successor = await seedAgent(env.db, o.id);
    const elsewhere = await office();
    for (const body of [
      { kind: 'transfer', agentId: self.id, toOfficeId: elsewhere.id, customers: 'move' },
      offboard(self.id, { agentId: successor }),
      { kind: 'reassign-callbacks', fromAgentId: self.id, to: { agentId: successor } },
    ]) {
      expectStatus(await call('POST', '/v1/handovers', body, self.token), 403);
      expectStatus(await call('POST', '/v1/handovers/preview', body, self.token), 403);
    }
    expectStatus(await call('PATCH', `/v1/agents/${self.id}`, { status: 'absent' }, self.token), 403);
    expectStatus(await call('PATCH', `/v1/agents/${self.id}`, { role: 'agent' }, self.token), 403);
    expect(await agentStatus(env, self.id)).toBe('active');

    // Started by someone else, it still cannot cancel or recheck it.
    await seedLeadSource(env, o.id, self.id);
    const started = expectStatus(
      await call('POST', '/v1/handovers', offboard(self.id, { agentId: successor }), other.token),
      202,
    );
    await waitForStatus(env.api, started.id, ['blocked']);
    expectStatus(await call('POST', `/v1/handovers/${started.id}/cancel`, undefined, self.token), 403);
    expectStatus(await call('POST', `/v1/handovers/${started.id}/recheck`, undefined, self.token), 403);
    const cancelled = expectStatus(
      await call('POST', `/v1/handovers/${started.id}/cancel`, undefined, other.token),
      202,
    );
    // A Handover, its status one of the enum until compensation ends.
    expect(cancelled).toMatchObject({ id: started.id, kind: 'offboard', phase: 'compensating' });
    expect(['running', 'blocked']).toContain(cancelled.status);
    expect((await waitForStatus(env.api, started.id, ['cancelled'])).status).toBe('cancelled');
  });

  test('cancel and recheck follow the office the agent belongs to now, not the one it started in', async () => {
    const first = await office();
    const second = await office();
    const adminFirst = await admin(first.id);
    const adminSecond = await admin(second.id);
    const leaver = await seedAgent(env.db, first.id);
    await seedLeadSource(env, first.id, leaver);
    const started = expectStatus(await call('POST', '/v1/handovers', offboard(leaver, { unassign: true })), 202);
    await waitForStatus(env.api, started.id, ['blocked']);
    // The agent's office changes meanwhile (as a transfer's own move would change it).
    await env.db.updateTable('agents').set({ office_id: second.id }).where('id', '=', leaver).execute();
    expectStatus(await call('POST', `/v1/handovers/${started.id}/recheck`, undefined, adminFirst.token), 403);
    expectStatus(await call('POST', `/v1/handovers/${started.id}/cancel`, undefined, adminFirst.token), 403);
    expectStatus(await call('POST', `/v1/handovers/${started.id}/recheck`, undefined, adminSecond.token), 202);
    expectStatus(await call('POST', `/v1/handovers/${started.id}/cancel`, undefined, adminSecond.token), 202);
    await waitForStatus(env.api, started.id, ['cancelled']);
  });
});

describe('escaping deprovisioning', () => {
  test('an Idempotency-Key is scoped to its caller, and never one that HR or SCIM uses', async () => {
    const o = await office();
    const one = await admin(o.id);
    const two = await admin(o.id);
    const [a, b] = [await seedAgent(env.db, o.id), await seedAgent(env.db, o.id)];
    const key = { 'idempotency-key': `shared-${randomUUID()}` };
    const first = expectStatus(
      await call('POST', '/v1/handovers', offboard(a, { unassign: true }), one.token, key),
      202,
    );
    // Another caller's same key with another body is a request of its own (not 422, not the first's handover).
    const second = expectStatus(
      await call('POST', '/v1/handovers', offboard(b, { unassign: true }), two.token, key),
      202,
    );
    expect(second.id).not.toBe(first.id);
    expect(
      expectStatus(await call('POST', '/v1/handovers', offboard(a, { unassign: true }), one.token, key), 200).id,
    ).toBe(first.id);
    await waitForStatus(env.api, first.id, ['completed']);
    await waitForStatus(env.api, second.id, ['completed']);

    // An API caller sends the key an HR event will use: the event still starts its own handover.
    const employee = await seedAgent(env.db, o.id);
    const ext = await withExternalId(employee);
    const webhookId = `msg_${randomUUID()}`;
    const other = await seedAgent(env.db, o.id);
    const claimed = expectStatus(
      await call('POST', '/v1/handovers', offboard(other, { unassign: true }), ADMIN_TOKEN, {
        'idempotency-key': `hr:${webhookId}`,
      }),
      202,
    );
    await waitForStatus(env.api, claimed.id, ['completed']); // its agent is no candidate for the event's pool
    const event = expectStatus(
      await hrEvent({ type: 'employee.terminated', employee: { externalId: ext } }, webhookId),
      202,
    );
    expect(event.handoverId).not.toBe(claimed.id);
    expect((await rowOf(event.handoverId)).agent_id).toBe(employee);
    await waitForStatus(env.api, event.handoverId, ['completed']);
    expect(await agentStatus(env, employee)).toBe('offboarded');
  });

  test('a SCIM deprovisioning repeated after its offboard was cancelled starts a new one; after completion, none', async () => {
    const o = await office();
    const officeAdmin = await admin(o.id);
    const user = await seedAgent(env.db, o.id);
    await seedAgent(env.db, o.id); // someone to take over
    const key = await seedLeadSource(env, o.id, user);
    const deprovision = () => scimPatch(user, [{ op: 'Replace', value: { active: 'False' } }]);
    const offboards = () =>
      env.db
        .selectFrom('handovers')
        .select(['id', 'status'])
        .where('agent_id', '=', user)
        .orderBy('created_at')
        .execute();

    expect((await deprovision()).statusCode).toBe(200);
    const [first] = await offboards();
    await waitForStatus(env.api, first!.id, ['blocked']);
    expect((await deprovision()).statusCode).toBe(200); // a repeat while it runs starts nothing
    expect(await offboards()).toHaveLength(1);
    expectStatus(await call('POST', `/v1/handovers/${first!.id}/cancel`, undefined, officeAdmin.token), 202);
    await waitForStatus(env.api, first!.id, ['cancelled']);
    expect(ok(await env.api.call('GET', `/scim/v2/Users/${user}`, undefined, SCIM_TOKEN)).active).toBe(true);

    expect((await deprovision()).statusCode).toBe(200);
    const again = await offboards();
    expect(again).toHaveLength(2);
    const lead = { name: 'Portal', officeId: o.id, defaultAssigneeId: officeAdmin.id };
    expectStatus(await call('PUT', `/v1/lead-sources/${key}`, lead), 200);
    expectStatus(await call('POST', `/v1/handovers/${again[1]!.id}/recheck`), 202);
    await waitForStatus(env.api, again[1]!.id, ['completed']);
    expect((await deprovision()).statusCode).toBe(200);
    expect(await offboards()).toHaveLength(2);
    expect(ok(await env.api.call('GET', `/scim/v2/Users/${user}`, undefined, SCIM_TOKEN)).active).toBe(false);
  });

  test.each(['hr', 'scim'] as const)(
    'a termination by %s of an agent under a running cover ends the cover first, then offboards it',
    async (via) => {
      const o = await office();
      const employee = await seedAgent(env.db, o.id);
      const cover = await seedAgent(env.db, o.id);
      const ext = await withExternalId(employee);
      const callbacks = [await seedCallback(env.db, employee, 60), await seedCallback(env.db, employee, 120)];
      const until = new Date(Date.now() + 14 * 86_400_000).toISOString();
      const absent = expectStatus(
        await hrEvent({
          type: 'employee.absent',
          employee: { externalId: ext },
          successor: { externalId: await withExternalId(cover) },
          until,
        }),
        202,
      );
      await waitFor('the cover to wait for its end', async () =>
        (await call('GET', `/v1/handovers/${absent.handoverId}`)).json().phase === 'waiting' ? true : undefined,
      );

      let offboardId: string;
      if (via === 'hr') {
        offboardId = expectStatus(
          await hrEvent({ type: 'employee.terminated', employee: { externalId: ext } }),
          202,
        ).handoverId;
      } else {
        expect((await scimPatch(employee, [{ op: 'replace', path: 'active', value: false }])).statusCode).toBe(200);
        const row = await env.db
          .selectFrom('handovers')
          .select('id')
          .where('agent_id', '=', employee)
          .where('kind', '=', 'offboard')
          .executeTakeFirstOrThrow();
        offboardId = row.id;
      }
      expect((await rowOf(absent.handoverId)).status).toBe('completed'); // ended before the offboard started
      await waitForStatus(env.api, offboardId, ['completed']);
      expect(await agentStatus(env, employee)).toBe('offboarded');
      const assignees = await env.db
        .selectFrom('callbacks')
        .select('assignee_id')
        .where('id', 'in', callbacks)
        .execute();
      expect(assignees).toHaveLength(2);
      for (const row of assignees) expect(row.assignee_id).not.toBe(employee);
    },
  );
});

test('an offboard through the API of an agent under a running cover ends the cover first (no 409)', async () => {
  const o = await office();
  const employee = await seedAgent(env.db, o.id);
  const cover = await seedAgent(env.db, o.id);
  const callback = await seedCallback(env.db, employee, 90);
  const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const covering = expectStatus(
    await call('POST', '/v1/handovers', {
      kind: 'reassign-callbacks',
      fromAgentId: employee,
      to: { agentId: cover },
      until,
    }),
    202,
  );
  await waitFor('the cover to wait for its end', async () =>
    (await call('GET', `/v1/handovers/${covering.id}`)).json().phase === 'waiting' ? true : undefined,
  );
  const leaving = expectStatus(await call('POST', '/v1/handovers', offboard(employee, { agentId: cover })), 202);
  expect((await rowOf(covering.id)).status).toBe('completed');
  await waitForStatus(env.api, leaving.id, ['completed']);
  const row = await env.db
    .selectFrom('callbacks')
    .select('assignee_id')
    .where('id', '=', callback)
    .executeTakeFirstOrThrow();
  expect(row.assignee_id).toBe(cover);
  expect(await agentStatus(env, employee)).toBe('offboarded');
});

describe('authentication is decided on the route that serves the request', () => {
  /** Every route of the OpenAPI document, its parameters filled with a random ID. */
  async function routes(): Promise<Array<{ method: string; path: string }>> {
    const doc = expectStatus(await call('GET', '/docs/json'), 200) as {
      paths: Record<string, Record<string, unknown>>;
    };
    return Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/') && path !== '/v1/hr/events')
      .flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, randomUUID()) })),
      );
  }
  /** /v1/… with its first letter percent-encoded: the same route once decoded. */
  const encoded = (path: string) => `/%76${path.slice(2)}`;

  test('percent-encoded, HEAD, double slash and trailing slash without a token: 401 or no route, never a 2xx or 5xx', async () => {
    const all = await routes();
    expect(all.length).toBeGreaterThan(30);
    for (const { method, path } of all) {
      const forms = [
        { method, url: encoded(path), routed: true },
        { method, url: path.replace('/v1/', '/v%31/'), routed: true },
        { method, url: `/${path}`, routed: false },
        { method, url: `${path}/`, routed: false },
        ...(method === 'GET' ? [{ method: 'HEAD', url: encoded(path), routed: true }] : []),
      ];
      for (const form of forms) {
        const res = await env.api.app.inject({ method: form.method as 'GET', url: form.url });
        const what = `${form.method} ${form.url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (form.routed) expect(res.statusCode, what).toBe(401);
        else expect([401, 404], what).toContain(res.statusCode);
        expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      }
    }
  });

  test('an absolute-form request line without a token: 401, with a plain agent token on a write: 403', async () => {
    const o = await office();
    const agent = await seedAgent(env.db, o.id);
    const token = await createToken(env.api, agent);
    const address = await env.api.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    const raw = (line: string, headers: string[] = [], body = '') =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          const head = [line, `Host: 127.0.0.1:${port}`, 'Connection: close', ...headers];
          if (body) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
          // No half-close: the server closes the connection after its answer (Connection: close).
          socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
        });
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk.toString();
        });
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
      });
    const status = (answer: string) => Number(answer.split(' ')[1]);
    for (const { method, path } of await routes()) {
      const url = `http://127.0.0.1:${port}${path}`;
      const answer = await raw(`${method} ${url} HTTP/1.1`);
      expect(status(answer), `${method} ${url}: ${answer.slice(0, 300)}`).toBe(401);
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      if (method !== 'GET') {
        const asAgent = await raw(`${method} ${url} HTTP/1.1`, [`Authorization: Bearer ${token}`], '{}');
        expect([400, 403, 404], `${method} ${url} as a plain agent: ${asAgent.slice(0, 300)}`).toContain(
          status(asAgent),
        );
      }
    }
  });
});

describe('contract details', () => {
  test('a plain agent gets the same answer on every admin list: 403 problem+json', async () => {
    const o = await office();
    const agent = await seedAgent(env.db, o.id);
    const token = await createToken(env.api, agent);
    for (const url of ['/v1/offices', '/v1/agents', '/v1/handovers', '/v1/lead-sources', '/v1/integrity']) {
      const res = await call('GET', url, undefined, token);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ status: 403, title: 'Forbidden', detail: expect.any(String) });
    }
    // What is its own stays readable.
    expectStatus(await call('GET', '/v1/customers', undefined, token), 200);
    expectStatus(await call('GET', '/v1/callbacks', undefined, token), 200);
  });

  test('a SCIM filter with a bad escape or a control character is 400 invalidFilter', async () => {
    for (const filter of ['userName eq "\\x"', 'userName eq "a\\u12"', 'externalId eq "tab\there"']) {
      const res = await env.api.call(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent(filter)}`,
        undefined,
        SCIM_TOKEN,
      );
      expect(res.statusCode, `${filter}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ scimType: 'invalidFilter' });
    }
  });

  test('SCIM POST /Users with active: false creates a deactivated user, all or nothing, even where nobody could take over', async () => {
    const o = await office(); // nobody else in it: an offboard would have nobody to hand to
    const userName = `inactive-${randomUUID()}@example.test`;
    const res = await env.api.call(
      'POST',
      '/scim/v2/Users',
      JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName,
        active: false,
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: o.ext },
      }),
      SCIM_TOKEN,
      { 'content-type': 'application/scim+json' },
    );
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().active).toBe(false);
    const rows = await env.db.selectFrom('agents').select(['id', 'status']).where('email', '=', userName).execute();
    expect(rows).toEqual([{ id: res.json().id, status: 'offboarded' }]);
  });

  test('the CSV export streams every matching row, past any page size', async () => {
    const o = await office();
    const agent = await seedAgent(env.db, o.id);
    const count = 2_345; // more than the largest page (1,000) and than a batch of the stream
    await env.db
      .insertInto('callbacks')
      .values(
        Array.from({ length: count }, (_, i) => ({
          name: `Caller ${i}`,
          phone: '+81 3 0000 0000',
          starts_at: new Date(Date.now() + 86_400_000 + i * 1000),
          ends_at: new Date(Date.now() + 90_000_000 + i * 1000),
          assignee_id: agent,
        })),
      )
      .execute();
    const res = await call('GET', `/v1/callbacks?assigneeId=${agent}&format=csv&limit=10`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['x-next-cursor']).toBeUndefined();
    const lines = res.body.split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(count + 1);
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(count);
  });

  test('links.temporalUi is absent, not empty, when the Web UI address is unknown', async () => {
    const o = await office();
    const leaver = await seedAgent(env.db, o.id);
    const started = expectStatus(await call('POST', '/v1/handovers', offboard(leaver, { unassign: true })), 202);
    expect(started.links.self).toBe(`/v1/handovers/${started.id}`);
    expect('temporalUi' in started.links).toBe(false);
    await waitForStatus(env.api, started.id, ['completed']);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: SCIM bodies are read field by field
function ok(res: { statusCode: number; body: string; json(): any }) {
  if (res.statusCode !== 200) throw new Error(`expected 200, got ${res.statusCode}: ${res.body}`);
  return res.json();
}
