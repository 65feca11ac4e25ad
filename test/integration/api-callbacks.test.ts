import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  createAgent,
  createCustomer,
  createOffice,
  createToken,
  type Directory,
  expectStatus,
  listAll,
  seedDirectory,
  setStatus,
} from '../helpers/directory';
import { connectTemporal } from '../helpers/temporal';

let database: TestDatabase;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let api: TestApi;
let d: Directory;
const MISSING = '00000000-0000-0000-0000-000000000000';
const MIN = 60_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase('api_callbacks'), connectTemporal()]);
  api = await buildTestApi(database.db, temporal.client);
  d = await seedDirectory(api);
});
afterAll(async () => {
  await api?.app.close();
  await temporal?.close();
  await database?.drop();
});

const body = (assigneeId: string, extra: Record<string, unknown> = {}) => ({
  name: 'Suzuki',
  phone: '+81 90-1111-2222',
  startsAt: iso(60 * MIN),
  endsAt: iso(90 * MIN),
  assigneeId,
  ...extra,
});
const postCallback = async (assigneeId: string, extra: Record<string, unknown> = {}, token?: string) =>
  expectStatus(await api.call('POST', '/v1/callbacks', body(assigneeId, extra), token), 201);

/** RFC 4180, enough for the tests: quoted fields, doubled quotes, CRLF row ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i += 2;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === ',') {
      row.push(field);
      field = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
    i++;
  }
  return rows;
}

describe('POST /v1/callbacks', () => {
  test('201 with or without a customer; updatedBy is the caller; alert is computed', async () => {
    const customer = await createCustomer(api, d.officeA, d.agentA.id);
    const extra = { customerId: customer, campaign: 'spring', note: 'prefers mornings' };
    const created = await postCallback(d.agentA.id, extra, d.adminA.token);
    expect(created).toEqual({
      id: expect.any(String),
      ...body(d.agentA.id, extra),
      startsAt: expect.any(String),
      endsAt: expect.any(String),
      alert: null,
      updatedAt: expect.any(String),
      updatedBy: d.adminA.id,
    });
    const bare = await postCallback(d.agentA.id, { startsAt: iso(5 * MIN), endsAt: iso(20 * MIN) });
    expect(bare).toMatchObject({ customerId: null, campaign: null, note: null, alert: 'soon', updatedBy: 'org-admin' });
    expect((await postCallback(d.agentA.id, { startsAt: iso(-5 * MIN), endsAt: iso(5 * MIN) })).alert).toBe('due');
    expect((await postCallback(d.agentA.id, { startsAt: iso(-50 * MIN), endsAt: iso(-5 * MIN) })).alert).toBe(
      'overdue',
    );
    const absent = await createAgent(api, d.officeA);
    await setStatus(database.db, absent, 'absent');
    await postCallback(absent);
  });

  test('422: window reversed, assignee leaving/offboarded/elsewhere/unknown, unknown customer', async () => {
    const post = (assigneeId: string, extra: Record<string, unknown> = {}) =>
      api.call('POST', '/v1/callbacks', body(assigneeId, extra));
    const reversed = expectStatus(await post(d.agentA.id, { startsAt: iso(60 * MIN), endsAt: iso(59 * MIN) }), 422);
    expect(reversed.errors[0].path).toBe('body/endsAt');
    for (const status of ['leaving', 'offboarded'] as const) {
      const id = await createAgent(api, d.officeA);
      await setStatus(database.db, id, status);
      expect(expectStatus(await post(id), 422).detail).toContain(status);
    }
    const customerA = await createCustomer(api, d.officeA, null);
    expectStatus(await post(d.agentB.id, { customerId: customerA }), 422);
    expectStatus(await post(MISSING), 422);
    expectStatus(await post(d.agentA.id, { customerId: MISSING }), 422);
  });

  test('refusals: 403 other office and plain agent, 400 schema (note over 500 chars and more)', async () => {
    expectStatus(await api.call('POST', '/v1/callbacks', body(d.agentA.id), d.adminB.token), 403);
    expectStatus(await api.call('POST', '/v1/callbacks', body(d.agentA.id), d.agentA.token), 403);
    expectStatus(await api.call('POST', '/v1/callbacks', body(d.agentA.id), null), 401);
    await postCallback(d.agentA.id, { note: 'n'.repeat(500) });
    for (const bad of [
      body(d.agentA.id, { note: 'n'.repeat(501) }),
      body(d.agentA.id, { startsAt: 'today' }),
      body(d.agentA.id, { extra: 1 }),
      { ...body(d.agentA.id), assigneeId: undefined },
      body(d.agentA.id, { phone: '' }),
    ]) {
      expectStatus(await api.call('POST', '/v1/callbacks', bad), 400);
    }
  });
});

describe('GET /v1/callbacks', () => {
  test('?campaign= keeps the callbacks of that campaign only, in JSON and in CSV', async () => {
    const agent = await createAgent(api, d.officeA);
    const spring = [
      (await postCallback(agent, { campaign: 'spring-fair' })).id,
      (await postCallback(agent, { campaign: 'spring-fair' })).id,
    ];
    await postCallback(agent, { campaign: 'autumn' });
    await postCallback(agent);
    const url = `/v1/callbacks?assigneeId=${agent}&campaign=spring-fair`;
    expect((await listAll(api, url)).items.map((c) => c.id).sort()).toEqual([...spring].sort());
    const csv = parseCsv((await api.call('GET', `${url}&format=csv`)).body);
    expect(
      csv
        .slice(1)
        .map((row) => row[0])
        .sort(),
    ).toEqual([...spring].sort());
    expectStatus(await api.call('GET', `/v1/callbacks?campaign=`), 400);
  });

  test('filters by assignee, window and alert; pages by keyset', async () => {
    const office = await createOffice(api);
    const agent = await createAgent(api, office);
    const ids = {
      overdue: (await postCallback(agent, { startsAt: iso(-60 * MIN), endsAt: iso(-30 * MIN) })).id,
      due: (await postCallback(agent, { startsAt: iso(-10 * MIN), endsAt: iso(10 * MIN) })).id,
      soon: (await postCallback(agent, { startsAt: iso(5 * MIN), endsAt: iso(15 * MIN) })).id,
      later: (await postCallback(agent, { startsAt: iso(24 * 60 * MIN), endsAt: iso(25 * 60 * MIN) })).id,
    };
    const list = async (query: string) =>
      (await listAll(api, `/v1/callbacks?assigneeId=${agent}${query}`)).items.map((c) => c.id).sort();
    expect(await list('')).toEqual(Object.values(ids).sort());
    expect(await list('&alert=overdue')).toEqual([ids.overdue]);
    expect(await list('&alert=due')).toEqual([ids.due]);
    expect(await list('&alert=soon')).toEqual([ids.soon]);
    expect(await list('&alert=none')).toEqual([ids.later]);
    // The callbacks that overlap [from, to].
    expect(await list(`&from=${iso(-20 * MIN)}&to=${iso(20 * MIN)}`)).toEqual([ids.due, ids.soon].sort());
    expect(await list(`&from=${iso(12 * 60 * MIN)}`)).toEqual([ids.later]);
    const paged = await listAll(api, `/v1/callbacks?assigneeId=${agent}&limit=3`);
    expect(paged.pages).toBe(2);
    expect(paged.items.find((c) => c.id === ids.overdue)?.alert).toBe('overdue');
    expectStatus(await api.call('GET', '/v1/callbacks?alert=late'), 400);
    expectStatus(await api.call('GET', '/v1/callbacks?from=yesterday'), 400);
  });

  test('a plain agent lists its own; an office admin its office’s; other offices 403', async () => {
    const own = await postCallback(d.agentA.id);
    const colleague = await postCallback(d.agentA2.id);
    const elsewhere = await postCallback(d.agentB.id);
    const mine = (await listAll(api, '/v1/callbacks', d.agentA.token)).items.map((c) => c.id);
    expect(mine).toContain(own.id);
    expect(mine).not.toContain(colleague.id);
    expectStatus(await api.call('GET', `/v1/callbacks?assigneeId=${d.agentA2.id}`, undefined, d.agentA.token), 403);
    const office = (await listAll(api, '/v1/callbacks', d.adminA.token)).items.map((c) => c.id);
    expect(office).toEqual(expect.arrayContaining([own.id, colleague.id]));
    expect(office).not.toContain(elsewhere.id);
    expectStatus(await api.call('GET', `/v1/callbacks?assigneeId=${d.agentB.id}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', `/v1/callbacks?assigneeId=${MISSING}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', `/v1/callbacks/${own.id}`, undefined, d.agentA.token), 200);
    expectStatus(await api.call('GET', `/v1/callbacks/${colleague.id}`, undefined, d.agentA.token), 403);
    expectStatus(await api.call('GET', `/v1/callbacks/${elsewhere.id}`, undefined, d.adminA.token), 403);
    expectStatus(await api.call('GET', `/v1/callbacks/${MISSING}`), 404);
    expectStatus(await api.call('GET', `/v1/callbacks/${MISSING}`, undefined, d.adminA.token), 403);
  });

  test('CSV with a header row and proper quoting, by Accept or by format=csv', async () => {
    const agent = await createAgent(api, d.officeA);
    const token = await createToken(api, agent);
    const tricky = await postCallback(agent, {
      name: 'Tanaka, "Ken"',
      note: 'line one\nline two, with comma',
      campaign: '=HYPERLINK("http://evil")',
    });
    await postCallback(agent, { name: '佐藤', startsAt: iso(-50 * MIN), endsAt: iso(-5 * MIN) });
    const byAccept = await api.call('GET', '/v1/callbacks', undefined, token, { accept: 'text/csv' });
    expect(byAccept.statusCode).toBe(200);
    expect(byAccept.headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = parseCsv(byAccept.body);
    expect(rows[0]).toEqual([
      'id',
      'customerId',
      'name',
      'phone',
      'startsAt',
      'endsAt',
      'assigneeId',
      'campaign',
      'note',
      'alert',
      'updatedAt',
      'updatedBy',
    ]);
    expect(rows).toHaveLength(3);
    const row = rows.find((r) => r[0] === tricky.id)!;
    expect(row[2]).toBe('Tanaka, "Ken"');
    expect(row[3]).toBe('+81 90-1111-2222');
    expect(row[7]).toBe(`'=HYPERLINK("http://evil")`);
    expect(row[8]).toBe('line one\nline two, with comma');
    expect(row[1]).toBe('');
    expect(rows.find((r) => r[2] === '佐藤')?.[9]).toBe('overdue');

    // Every matching row, no paging (API.md): `limit` does not cut a CSV export, and there is no cursor.
    const byFormat = await api.call('GET', '/v1/callbacks?format=csv&limit=1', undefined, token);
    expect(byFormat.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(parseCsv(byFormat.body)).toHaveLength(3);
    expect(byFormat.headers['x-next-cursor']).toBeUndefined();
    // format=json wins over Accept; errors stay problem+json.
    const json = await api.call('GET', '/v1/callbacks?format=json', undefined, token, { accept: 'text/csv' });
    expect(json.json().items).toHaveLength(2);
    expectStatus(await api.call('GET', '/v1/callbacks?format=csv', undefined, null), 401);
  });
});

describe('CSV export of every matching row', () => {
  test('past the largest page (1,000): one streamed CSV with every row, in a window; JSON still pages', async () => {
    const agent = await createAgent(api, d.officeA);
    // 2,345 callbacks of the agent, 30 minutes long, one starting every minute from tomorrow on.
    const total = 2_345;
    const first = Date.now() + 24 * 60 * MIN;
    await database.db
      .insertInto('callbacks')
      .values(
        Array.from({ length: total }, (_, i) => ({
          name: `caller ${i}`,
          phone: '+81 3-0000-0000',
          starts_at: new Date(first + i * MIN),
          ends_at: new Date(first + i * MIN + 30 * MIN),
          assignee_id: agent,
        })),
      )
      .execute();
    const csv = await api.call('GET', `/v1/callbacks?assigneeId=${agent}&format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    // Streamed: no Content-Length known in advance.
    expect(csv.headers['content-length']).toBeUndefined();
    const rows = parseCsv(csv.body);
    expect(rows).toHaveLength(1 + total);
    expect(new Set(rows.slice(1).map((r) => r[0])).size).toBe(total);
    expect(new Set(rows.slice(1).map((r) => r[6]))).toEqual(new Set([agent]));

    // A window keeps the callbacks that overlap it (docs/API.md): with minutes 1,000 to 1,059, those
    // starting from minute 970 (ending at 1,000) to 1,059.
    const from = new Date(first + 1_000 * MIN).toISOString();
    const to = new Date(first + 1_059 * MIN).toISOString();
    const windowed = parseCsv(
      (await api.call('GET', `/v1/callbacks?assigneeId=${agent}&from=${from}&to=${to}&format=csv`)).body,
    );
    expect(
      windowed
        .slice(1)
        .map((r) => r[2])
        .sort(),
    ).toEqual(Array.from({ length: 90 }, (_, i) => `caller ${970 + i}`).sort());

    const page = expectStatus(await api.call('GET', `/v1/callbacks?assigneeId=${agent}`), 200);
    expect(page.items).toHaveLength(100);
    expect(page.nextCursor).toEqual(expect.any(String));
  });
});

describe('PATCH /v1/callbacks/{id}', () => {
  test('reschedules, reassigns and edits the note; updatedAt/updatedBy follow', async () => {
    const created = await postCallback(d.agentA.id, { note: 'first' });
    const url = `/v1/callbacks/${created.id}`;
    const patch = { startsAt: iso(-5 * MIN), endsAt: iso(5 * MIN), assigneeId: d.agentA2.id, note: 'second' };
    const patched = expectStatus(await api.call('PATCH', url, patch, d.adminA.token), 200);
    expect(patched).toMatchObject({ ...patch, startsAt: expect.any(String), alert: 'due', updatedBy: d.adminA.id });
    expect(Date.parse(patched.startsAt)).toBe(Date.parse(patch.startsAt));
    expect(Date.parse(patched.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(expectStatus(await api.call('PATCH', url, { note: null }), 200)).toMatchObject({
      note: null,
      updatedBy: 'org-admin',
    });
  });

  test('422: window reversed (also against the kept end), assignee leaving or in another office', async () => {
    const created = await postCallback(d.agentA.id);
    const url = `/v1/callbacks/${created.id}`;
    expectStatus(await api.call('PATCH', url, { startsAt: iso(120 * MIN) }), 422);
    expectStatus(await api.call('PATCH', url, { startsAt: iso(10 * MIN), endsAt: iso(5 * MIN) }), 422);
    const leaving = await createAgent(api, d.officeA);
    await setStatus(database.db, leaving, 'leaving');
    expect(expectStatus(await api.call('PATCH', url, { assigneeId: leaving }), 422).detail).toContain('leaving');
    expectStatus(await api.call('PATCH', url, { assigneeId: d.agentB.id }), 422);
    expectStatus(await api.call('PATCH', url, { assigneeId: d.agentB.id }, d.adminA.token), 422);
    // Unchanged assignee: no check, even while it is in a handover.
    const holder = await createAgent(api, d.officeA);
    const held = await postCallback(holder);
    await setStatus(database.db, holder, 'leaving');
    expectStatus(await api.call('PATCH', `/v1/callbacks/${held.id}`, { note: 'kept', assigneeId: holder }), 200);
  });

  test.each(['leaving', 'offboarded'] as const)(
    '422: an ended callback of a %s agent is not extended into the future (invariants 2, 9)',
    async (status) => {
      const holder = await createAgent(api, d.officeA);
      const ended = await postCallback(holder, { startsAt: iso(-60 * MIN), endsAt: iso(-30 * MIN) });
      await setStatus(database.db, holder, status);
      const url = `/v1/callbacks/${ended.id}`;
      const refused = expectStatus(await api.call('PATCH', url, { endsAt: iso(60 * MIN) }), 422);
      expect(refused.detail).toContain(status);
      expect(refused.detail).toContain('assigneeId');
      // Rescheduled to someone who can take it: fine; a note on the ended one: fine.
      expectStatus(await api.call('PATCH', url, { note: 'history' }), 200);
      const moved = expectStatus(await api.call('PATCH', url, { endsAt: iso(60 * MIN), assigneeId: d.agentA.id }), 200);
      expect(moved.assigneeId).toBe(d.agentA.id);
    },
  );

  test('refusals: 403 plain agent (even its own) and other office, 404/403 unknown, 400 schema', async () => {
    const created = await postCallback(d.agentA.id);
    const url = `/v1/callbacks/${created.id}`;
    expectStatus(await api.call('PATCH', url, { note: 'x' }, d.agentA.token), 403);
    expectStatus(await api.call('PATCH', url, { note: 'x' }, d.adminB.token), 403);
    expectStatus(await api.call('PATCH', `/v1/callbacks/${MISSING}`, { note: 'x' }), 404);
    expectStatus(await api.call('PATCH', `/v1/callbacks/${MISSING}`, { note: 'x' }, d.adminA.token), 403);
    expectStatus(await api.call('PATCH', url, {}), 400);
    expectStatus(await api.call('PATCH', url, { note: 'n'.repeat(501) }), 400);
    expectStatus(await api.call('PATCH', url, { name: 'renamed' }), 400);
    expectStatus(await api.call('PATCH', url, { assigneeId: null }), 400);
  });
});
