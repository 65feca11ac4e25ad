/**
 * Secrets and defaults of the shipped deployment (API.md, Configuration): the compose file carries
 * no secret of its own and publishes no port beyond this machine unless the operator opts in; the
 * API refuses to start without ADMIN_TOKEN, naming it.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const compose = () => readFile(new URL('../../docker-compose.yml', import.meta.url), 'utf8');

test('docker-compose.yml requires every secret: no default value for ADMIN_TOKEN, SCIM_TOKEN or HR_WEBHOOK_SECRET', async () => {
  const text = await compose();
  for (const name of ['ADMIN_TOKEN', 'SCIM_TOKEN', 'HR_WEBHOOK_SECRET']) {
    const line = text.split('\n').find((l) => l.trim().startsWith(`${name}:`));
    expect(line, name).toBeDefined();
    // ${NAME:?message}: compose refuses to start while it is unset or empty.
    expect(line, name).toMatch(new RegExp(`\\$\\{${name}:\\?[^}]*${name}|\\$\\{${name}:\\?`));
    expect(line, name).not.toMatch(/:-/);
  }
  expect(text).not.toMatch(/change-me/);
});

test('docker-compose.yml publishes its ports on 127.0.0.1 unless BIND_ADDRESS says otherwise', async () => {
  const ports = (await compose())
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^- "[^"]*:\d+"$/.test(l));
  expect(ports.length).toBeGreaterThanOrEqual(4);
  for (const port of ports) expect(port).toMatch(/^- "\$\{BIND_ADDRESS:-127\.0\.0\.1\}:\d+:\d+"$/);
});

test('npm run api without ADMIN_TOKEN fails at start, naming the variable', async () => {
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    env: { ...process.env, ADMIN_TOKEN: '', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    timeout: 30_000,
  });
  const failure = await run.then(
    () => undefined,
    (err: { code?: number; stderr?: string }) => err,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toContain('ADMIN_TOKEN is not set');
});

test('a bad setting fails the start of npm run api, naming it', async () => {
  const failure = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    env: { ...process.env, ADMIN_TOKEN: 'x', TRASH_RETENTION_DAYS: 'two weeks' },
    timeout: 30_000,
  }).then(
    () => undefined,
    (err: { code?: number; stderr?: string }) => err,
  );
  expect(failure?.code).not.toBe(0);
  expect(failure?.stderr).toContain('TRASH_RETENTION_DAYS must be a positive integer');
});
