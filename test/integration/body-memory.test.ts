/**
 * Memory against a real API process. Validation is no memory bomb (API.md, Conventions: each
 * route accepts bodies up to what its largest valid input needs): 16 MiB of empty objects sent to
 * every write route answers 400 or 413 with a small body, and the process grows by less than
 * 50 MB; a plain agent is refused before its body is read. The CSV export of 100,000 callbacks
 * streams in bounded memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { hashToken, newToken } from '../../src/api/auth';
import { ADMIN_TOKEN } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { temporalAddress } from '../helpers/temporal';

const SCIM_TOKEN = 'memory-scim-token';
let database: TestDatabase;
let api: ChildProcess;
let url: string;
let output = '';

beforeAll(async () => {
  database = await createTestDatabase('body_memory');
  // A capped heap makes V8 collect rather than grow into the machine's free memory, so the RSS
  // shows what is live: without it, garbage of a finished stream would read as growth.
  api = spawn(process.execPath, ['--max-old-space-size=128', '--import', 'tsx', 'src/api/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporalAddress(),
      ADMIN_TOKEN,
      SCIM_TOKEN,
      HR_WEBHOOK_SECRET: `whsec_${Buffer.from('memory-test-secret').toString('base64')}`,
      PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    api.stdout!.on('data', (chunk) => {
      output += chunk;
      const m = output.match(/API listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]!);
    });
    api.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    api.on('exit', (code) => reject(new Error(`the API exited (${code}): ${output}`)));
  });
});

afterAll(async () => {
  api?.kill('SIGKILL');
  await database?.drop();
});

async function writeRoutes() {
  const doc = (await (await fetch(`${url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => ({
        method: m.toUpperCase(),
        path: path.replace(/\{[^}]+\}/g, '00000000-0000-0000-0000-000000000000'),
      })),
  );
}

/** Samples the API's RSS until `run` ends; returns its level before and its peak. */
async function growthDuring(run: () => Promise<void>): Promise<{ idle: number; peak: number }> {
  await fetch(`${url}/healthz`);
  const idle = await rss(api.pid!);
  let peak = idle;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rss(api.pid!));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    await run();
  } finally {
    sampling = false;
    await sampler;
  }
  return { idle, peak };
}

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = status.match(/VmRSS:\s+(\d+) kB/)?.[1];
  if (!kb) throw new Error(`the API process is gone: ${output.slice(-2000)}`);
  return Number(kb) * 1024;
}

test('16 MiB of empty objects to every write route: 400 or 413 with a small body; the API grows by less than 50 MB', async () => {
  const writes = await writeRoutes();
  expect(writes.length).toBeGreaterThan(20);
  const payload = `{"customers":[${Array.from({ length: (16 * 1024 * 1024) / 3 }, () => '{}').join(',')}]}`;
  expect(payload.length).toBeGreaterThanOrEqual(16 * 1024 * 1024);

  const { idle, peak } = await growthDuring(async () => {
    for (const { method, path } of writes) {
      const scim = path.startsWith('/scim/');
      const res = await fetch(`${url}${path}`, {
        method,
        body: payload,
        headers: {
          'content-type': scim ? 'application/scim+json' : 'application/json',
          authorization: `Bearer ${scim ? SCIM_TOKEN : ADMIN_TOKEN}`,
        },
      }).catch((err: Error) => err);
      // The server may close the connection after a 413 before the whole body is sent.
      if (res instanceof Error) continue;
      const body = await res.text();
      expect([400, 413], `${method} ${path}: ${res.status} ${body.slice(0, 200)}`).toContain(res.status);
      expect(body.length, `${method} ${path}`).toBeLessThan(2000);
    }
  });
  console.log(
    `16 MiB bodies to ${writes.length} write routes: the API grew by ${((peak - idle) / 2 ** 20).toFixed(1)} MB`,
  );
  expect(peak - idle, `RSS grew from ${idle} to ${peak}`).toBeLessThan(50 * 1024 * 1024);
});

test('a plain agent is refused (403) before its body is read, on every write route but its own settings', async () => {
  const office = await database.db
    .insertInto('offices')
    .values({ name: 'Memory' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const agent = await database.db
    .insertInto('agents')
    .values({ office_id: office.id, name: 'Plain', email: 'plain@example.test', role: 'agent', updated_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  const token = newToken();
  await database.db
    .insertInto('api_tokens')
    .values({ agent_id: agent.id, token_hash: hashToken(token) })
    .execute();
  const payload = `{"customers":[${'{},'.repeat(1_000_000)}{}]}`;
  for (const { method, path } of await writeRoutes()) {
    if (!path.startsWith('/v1/') || path === '/v1/hr/events' || path.includes('/notification-settings/')) continue;
    const res = await fetch(`${url}${path}`, {
      method,
      body: payload,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    expect(res.status, `${method} ${path}: ${(await res.text()).slice(0, 200)}`).toBe(403);
  }
});

test('the CSV export of 100,000 callbacks streams every row in bounded memory', async () => {
  const count = 100_000;
  await sql`
    insert into callbacks (name, phone, starts_at, ends_at, assignee_id, campaign, note, updated_at)
    select 'Caller ' || i, '+81 3 0000 0000', now() + interval '1 day', now() + interval '2 days', null,
           'spring', repeat('n', 200), now()
    from generate_series(1, ${count}) as i`.execute(database.db);
  let lines = 0;
  let bytes = 0;
  const { idle, peak } = await growthDuring(async () => {
    const res = await fetch(`${url}/v1/callbacks?format=csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      const text = decoder.decode(chunk as Uint8Array, { stream: true });
      bytes += text.length;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
    }
  });
  expect(lines).toBe(count + 1);
  console.log(
    `CSV of ${count} callbacks (${(bytes / 2 ** 20).toFixed(1)} MB): the API grew by ${((peak - idle) / 2 ** 20).toFixed(1)} MB`,
  );
  expect(peak - idle, `RSS grew from ${idle} to ${peak}`).toBeLessThan(50 * 1024 * 1024);
});
