/**
 * Secrets and defaults of the shipped deployment (API.md, Configuration): the compose file carries
 * no secret of its own and publishes no port beyond this machine unless the operator opts in; the
 * API refuses to start without ADMIN_TOKEN, naming it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY_DIR, SERVER_VERSION, UI_VERSION } from '../../src/temporal/cluster';

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

describe('docker-compose.yml runs what the cluster tests run', () => {
  type Service = {
    image?: string;
    build?: string;
    command?: string[];
    entrypoint?: string[];
    environment?: Record<string, string | number>;
    volumes?: string[];
    healthcheck?: { test: string[] };
  };
  const services = async () =>
    (parse(await compose(), { merge: true }) as { services: Record<string, Service> }).services;
  const tagOf = (image: string | undefined) => image?.split(':')[1];

  test('every image has a pinned tag; Temporal’s are the versions the cluster builds', async () => {
    const all = await services();
    for (const [name, s] of Object.entries(all)) {
      if (s.build) continue;
      expect(tagOf(s.image), name).toMatch(/^v?\d+(\.\d+)*$/);
    }
    expect(all.temporal?.image).toBe(`temporalio/server:${SERVER_VERSION.slice(1)}`);
    expect(all['temporal-schema']?.image).toBe(`temporalio/admin-tools:${SERVER_VERSION.slice(1)}`);
    expect(all['temporal-setup']?.image).toBe(`temporalio/admin-tools:${SERVER_VERSION.slice(1)}`);
    expect(all['temporal-ui']?.image).toBe(`temporalio/ui:${UI_VERSION.slice(1)}`);
    expect(all.temporal?.image).not.toContain('auto-setup'); // meant for development only
  });

  test('the Temporal server runs deploy/temporal/config with every setting the template reads and has no default for', async () => {
    const { temporal } = await services();
    expect(temporal?.volumes).toContain('./deploy/temporal/config:/etc/temporal/config:ro');
    const command = temporal?.command?.join(' ') ?? '';
    expect(command).toContain('--config config --env production start');
    const template = await readFile(join(DEPLOY_DIR, 'config', 'production.yaml'), 'utf8');
    const read = [...template.matchAll(/env "(\w+)"( \| default)?/g)];
    expect(read.length).toBeGreaterThan(5);
    const given = new Set([...Object.keys(temporal?.environment ?? {}), ...command.matchAll(/(\w+)=/g)].map(String));
    for (const [, name, hasDefault] of read) {
      if (!hasDefault || ['TEMPORAL_DB_HOST', 'TEMPORAL_BIND_IP', 'TEMPORAL_BROADCAST_ADDRESS'].includes(name!)) {
        expect(given.has(name!) || command.includes(`${name}=`), name).toBe(true);
      }
    }
    const dynamic = temporal?.environment?.TEMPORAL_DYNAMIC_CONFIG;
    expect(dynamic).toBe('/etc/temporal/config/dynamicconfig.yaml');
    expect(existsSync(join(DEPLOY_DIR, 'config', 'dynamicconfig.yaml'))).toBe(true);
  });

  test('the schema steps are the SQL tool’s create-database, setup-schema -v 0.0 and update-schema of both databases', async () => {
    const script = (await services())['temporal-schema']?.command?.join(' ') ?? '';
    for (const step of [
      'create-database',
      'setup-schema -v 0.0',
      'update-schema -d /etc/temporal/schema/postgresql/v12/',
    ]) {
      expect(script).toContain(step);
    }
    expect(script).toContain('temporal:temporal temporal_visibility:visibility');
  });

  test('worker and API run the compiled build of the production image, with what each needs and a healthcheck', async () => {
    const all = await services();
    expect(all.worker?.command).toEqual(['node', 'dist/worker.js']);
    expect(all.api?.command).toEqual(['node', 'dist/api.js']);
    for (const name of ['worker', 'api']) {
      const s = all[name]!;
      expect(s.build, name).toBe('.');
      for (const key of [
        'DATABASE_URL',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_TASK_QUEUE',
        'SMTP_URL',
        'ADMIN_TOKEN',
      ]) {
        expect(s.environment?.[key], `${name} ${key}`).toBeDefined();
      }
    }
    expect(all.worker?.environment?.WORKER_METRICS_ADDRESS).toBe('0.0.0.0:9464');
    for (const name of ['postgres', 'temporal', 'worker', 'api'])
      expect(all[name]?.healthcheck?.test, name).toBeDefined();
  });

  test('the Dockerfile is multi-stage: build, then production dependencies only, a non-root user and a healthcheck', async () => {
    const dockerfile = await readFile(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toContain('COPY --from=build /app/dist ./dist');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toContain('CMD ["node", "dist/api.js"]');
  });
});
