/**
 * Validation is no memory bomb (API.md, Conventions: each route accepts bodies up to what its
 * largest valid input needs): 16 MiB of empty objects sent to every write route of a real API
 * process answers 400 or 413 with a small body, and the process grows by less than 50 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
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
  api = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
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

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = status.match(/VmRSS:\s+(\d+) kB/)?.[1];
  if (!kb) throw new Error(`the API process is gone: ${output.slice(-2000)}`);
  return Number(kb) * 1024;
}

test('16 MiB of empty objects to every write route: 400 or 413 with a small body; the API grows by less than 50 MB', async () => {
  const doc = (await (await fetch(`${url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const writes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => ({
        method: m.toUpperCase(),
        path: path.replace(/\{[^}]+\}/g, '00000000-0000-0000-0000-000000000000'),
      })),
  );
  expect(writes.length).toBeGreaterThan(20);
  const payload = `{"customers":[${Array.from({ length: (16 * 1024 * 1024) / 3 }, () => '{}').join(',')}]}`;
  expect(payload.length).toBeGreaterThanOrEqual(16 * 1024 * 1024);

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
  sampling = false;
  await sampler;
  expect(peak - idle, `RSS grew from ${idle} to ${peak}`).toBeLessThan(50 * 1024 * 1024);
});
