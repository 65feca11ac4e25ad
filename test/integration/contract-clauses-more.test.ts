/**
 * More clauses of the contract (API.md) that no other test checked as written:
 * - C13: `errors` names at most 20 fields (bulk rows, import duplicates, schema violations);
 * - H12: `options` defaults (recheckIntervalSeconds 300, escalateAfterSeconds 86400) and given
 *   options, as the workflow's recorded input and the timers of its blocked wait;
 * - H17: a Handover's `createdAt` and `links: {self, temporalUi}`, with and without TEMPORAL_UI_URL;
 * - H21: an API client sees the phases `validating`, `planning` and `finishing` while each step is held;
 * - N5 (and E11): the exact customers-assigned sentence in Japanese and English, and MAIL_FROM
 *   as the From of a received mail;
 * - N12: without SMTP_URL, one parseable `.eml` per outbox row in MAIL_OUTBOX_DIR;
 * - E4: without TEMPORAL_ADDRESS, `npm start` (src/main.ts) runs an embedded Temporal dev server with its UI.
 * Expected numbers come from the seeded books; handovers of this file start as the org admin unless
 * a test says otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkerOptions } from '@temporalio/worker';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { type Config, loadConfig } from '../../src/config';
import type { HandoverInput } from '../../src/domain/handover';
import { createMailer } from '../../src/mail/transport';
import { createHandoverWorker } from '../../src/worker/worker';
import { activityGate } from '../helpers/activity-gate';
import { ADMIN_TOKEN, buildTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase } from '../helpers/database';
import { createAgent, createToken, expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedOffice,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { agentEmail, offboard, seedLeadSource, seedTeam, type Team, workflowDone } from '../helpers/offboard-api';
import { temporalAddress, uniqueTaskQueue, workflowBundle } from '../helpers/temporal';

/** A From with a display name, so the received header shows it was this setting, not the default. */
const MAIL_FROM = 'Handover Desk <desk@clauses-more.test>';

let env: HandoverEnv;
/** Workers and APIs of this file's own (stopped before the environment closes), last started first. */
const cleanups: Array<() => Promise<void>> = [];
const gate = activityGate();

beforeAll(async () => {
  env = await createHandoverEnv('clauses_more', { MAIL_FROM });
  await env.startWorker();
});
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  await env?.close();
});

interface HandoverView {
  id: string;
  kind: string;
  agentId: string | null;
  status: string;
  phase: string;
  createdAt: string;
  finishedAt: string | null;
  links: { self: string; temporalUi?: string };
  summary: { customers: number; bySuccessor: Record<string, number> } | null;
}
interface ProblemBody {
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const getHandover = async (api: TestApi, id: string): Promise<HandoverView> =>
  expectStatus(await api.call('GET', `/v1/handovers/${id}`), 200);

interface OwnQueue {
  api: TestApi;
  config: Config;
  /** Starts a worker on the queue, its mailer chosen from the config as src/services.ts runWorker chooses it. */
  startWorker(interceptors?: WorkerOptions['interceptors']): Promise<void>;
}

/**
 * A task queue of the test's own, with an API that starts handovers there and no worker until the
 * test starts one: so a step can be held before the workflow's first task runs, or mail can go
 * elsewhere than the environment's SMTP server. (runWorker itself would also create maintenance
 * schedules on the shared dev server.)
 */
async function ownQueue(label: string, settings: Record<string, string | undefined> = {}): Promise<OwnQueue> {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    ...env.env,
    TEMPORAL_TASK_QUEUE: uniqueTaskQueue(label),
    ...settings,
  })) {
    if (value !== undefined) merged[name] = value;
  }
  const config = loadConfig(merged);
  const api = await buildTestApi(env.db, env.temporal.client, merged);
  cleanups.unshift(() => api.app.close());
  return {
    api,
    config,
    async startWorker(interceptors) {
      const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: config.mailOutboxDir });
      const worker = await createHandoverWorker({
        connection: env.temporal.nativeConnection,
        db: env.db,
        mailer,
        config,
        workflowBundle: await workflowBundle(),
        interceptors,
      });
      const running = worker.run();
      cleanups.unshift(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        mailer.close();
      });
    },
  };
}

const agentName = async (id: string) =>
  (await env.db.selectFrom('agents').select('name').where('id', '=', id).executeTakeFirstOrThrow()).name;
const recipient = (m: ParsedMail) => (m.to && !Array.isArray(m.to) ? (m.to.value[0]?.address ?? '') : '');

describe('C13: errors names at most 20 fields', () => {
  const MISSING_OFFICE = 'office-that-does-not-exist';
  const row = (officeId: string, i: number, extra: Record<string, unknown> = {}) => ({
    officeId,
    ownerId: null,
    name: `bulk customer ${i}`,
    kind: 'buyer',
    ...extra,
  });
  const customersNamed = async (prefix: string) =>
    (await env.db.selectFrom('customers').select('id').where('name', 'like', `${prefix}%`).execute()).length;

  test('a bulk of 50 customers of an unknown office: 422 naming the first 20, the detail counting all 50', async () => {
    const customers = Array.from({ length: 50 }, (_, i) => row(MISSING_OFFICE, i));
    const problem: ProblemBody = expectStatus(await env.api.call('POST', '/v1/customers/bulk', { customers }), 422);
    expect(problem.errors).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ path: `body/customers/${i}/officeId`, message: expect.any(String) })),
    );
    expect(problem.detail).toContain('and 49 more');
    expect(problem.detail).toContain('first 20 of 50');
    expect(await customersNamed('bulk customer')).toBe(0);
  });

  test('a bulk whose 51 rows share one externalId: 409 naming the first 20 of the 50 repeats', async () => {
    const office = await seedOffice(env.db);
    const customers = Array.from({ length: 51 }, (_, i) => row(office, i, { externalId: `same-${office}` }));
    const problem: ProblemBody = expectStatus(await env.api.call('POST', '/v1/customers/bulk', { customers }), 409);
    // Row 0 is the first with the externalId; rows 1…50 repeat it.
    expect(problem.errors?.map((e) => e.path)).toEqual(
      Array.from({ length: 20 }, (_, i) => `body/customers/${i + 1}/externalId`),
    );
    expect(problem.detail).toContain('first 20 of 50');
    expect(await customersNamed('bulk customer')).toBe(0);
  });

  test('an import whose 51 rows share one externalId: 400 naming the first 20 of the 50 duplicates', async () => {
    const t = await seedTeam(env);
    const customers = Array.from({ length: 51 }, (_, i) => ({ externalId: `dup-${t.office}`, name: `imported ${i}` }));
    const problem: ProblemBody = expectStatus(
      await env.api.call('POST', '/v1/imports/customers', { ownerId: t.successor, mode: 'update', customers }),
      400,
    );
    expect(problem.errors?.map((e) => e.path)).toEqual(
      Array.from({ length: 20 }, (_, i) => `body/customers/${i + 1}/externalId`),
    );
    expect(problem.detail).toContain('50 duplicate');
    expect(problem.detail).toContain('first 20 of 50');
    expect(await customersNamed('imported')).toBe(0);
  });

  test('a schema-invalid body with 100 bad fields: 400 naming between 1 and 20 of them', async () => {
    // 50 rows each with a kind that is no kind and a field that does not exist: 100 violations.
    const customers = Array.from({ length: 50 }, (_, i) => row(MISSING_OFFICE, i, { kind: 'tenant', colour: 'red' }));
    const problem: ProblemBody = expectStatus(await env.api.call('POST', '/v1/customers/bulk', { customers }), 400);
    expect(problem.errors?.length).toBeGreaterThanOrEqual(1);
    expect(problem.errors?.length).toBeLessThanOrEqual(20);
    for (const error of problem.errors ?? []) {
      expect(error.path).toMatch(/^body\/customers\/\d+\/(kind|colour)$/);
      expect(error.message).toEqual(expect.any(String));
    }
  });
});

describe('H12: options default to recheckIntervalSeconds 300 and escalateAfterSeconds 86400', () => {
  /** What the workflow was started with, as Temporal recorded it. */
  async function startedInput(id: string): Promise<HandoverInput> {
    const { events } = await env.temporal.client.workflow.getHandle(id).fetchHistory();
    const payload = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new Error(`handover ${id} has no recorded input`);
    return defaultPayloadConverter.fromPayload<HandoverInput>(payload);
  }
  /** The duration of every timer the workflow started, in seconds. */
  async function timerSeconds(id: string): Promise<number[]> {
    const { events } = await env.temporal.client.workflow.getHandle(id).fetchHistory();
    return (events ?? []).flatMap((e) => {
      const d = e.timerStartedEventAttributes?.startToFireTimeout;
      return d ? [Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9] : [];
    });
  }

  test.each([
    { given: undefined, recheck: 300, escalate: 86_400 },
    { given: { recheckIntervalSeconds: 45 }, recheck: 45, escalate: 86_400 },
    { given: { escalateAfterSeconds: 3_600 }, recheck: 300, escalate: 3_600 },
    { given: { recheckIntervalSeconds: 120, escalateAfterSeconds: 7_200 }, recheck: 120, escalate: 7_200 },
  ])('options $given: rechecks every $recheck s, escalates after $escalate s', async ({ given, recheck, escalate }) => {
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 3, 0);
    const key = await seedLeadSource(env, t.office, t.leaver);
    const body = offboard(t.leaver, { agentId: t.successor }, given ? { options: given } : {});
    const { id } = expectStatus(await env.api.call('POST', '/v1/handovers', body), 202);
    await waitForStatus(env.api, id, ['blocked']);

    expect((await startedInput(id)).options).toEqual({
      recheckIntervalSeconds: recheck,
      escalateAfterSeconds: escalate,
    });
    // While blocked: the escalation's timer (from the deadline, so a moment less than escalateAfterSeconds)
    // and the recheck's, exactly recheckIntervalSeconds.
    const timers = await waitFor(
      `the two timers of the blocked wait of ${id}`,
      async () => {
        const seconds = await timerSeconds(id);
        return seconds.length >= 2 ? seconds : undefined;
      },
      20_000,
    );
    expect(timers).toHaveLength(2);
    expect(timers).toContain(recheck);
    const escalation = timers.find((s) => s !== recheck) ?? recheck;
    expect(escalation).toBeLessThanOrEqual(escalate);
    expect(escalation).toBeGreaterThan(escalate - 60);

    // Unblocked and rechecked at once, it completes: nothing of this test is left running.
    expectStatus(
      await env.api.call('PUT', `/v1/lead-sources/${key}`, {
        name: 'Portal',
        officeId: t.office,
        defaultAssigneeId: t.admin.id,
      }),
      200,
    );
    expectStatus(await env.api.call('POST', `/v1/handovers/${id}/recheck`), 202);
    expect((await waitForStatus(env.api, id, ['completed', 'failed', 'compensated'])).status).toBe('completed');
  });
});

describe('H17: createdAt and links', () => {
  test('createdAt is the ISO time of the request; links.self is its URL; links.temporalUi opens its workflow when the UI address is known', async () => {
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 3, 0);
    const before = Date.now();
    const res = await env.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor }));
    const after = Date.now();
    const started: HandoverView = expectStatus(res, 202);
    const { id } = started;
    expect(started.createdAt).toMatch(ISO_UTC);
    expect(Date.parse(started.createdAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(started.createdAt)).toBeLessThanOrEqual(after);

    // Without TEMPORAL_UI_URL (the environment sets none): self only, on every answer.
    expect(started.links).toEqual({ self: `/v1/handovers/${id}` });
    const self = await getHandover(env.api, id);
    expect(self).toMatchObject({ id, createdAt: started.createdAt, links: { self: started.links.self } });
    expect(self.links).not.toHaveProperty('temporalUi');
    const listed = expectStatus(await env.api.call('GET', `/v1/handovers?agentId=${t.leaver}`), 200);
    expect(listed.items).toEqual([expect.objectContaining({ id, createdAt: started.createdAt, links: started.links })]);

    // With it: the link names this workflow in the Web UI, and the UI's own API under that path describes it.
    const ui = inject('temporalUiUrl');
    expect(ui).toMatch(/^http:\/\//);
    const withUi = await buildTestApi(env.db, env.temporal.client, { ...env.env, TEMPORAL_UI_URL: ui });
    cleanups.unshift(() => withUi.app.close());
    const seen = await getHandover(withUi, id);
    expect(seen.links.self).toBe(`/v1/handovers/${id}`);
    const link = seen.links.temporalUi ?? '';
    expect(link).toBe(`${ui}/namespaces/default/workflows/${id}`);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const described = await fetch(`${ui}/api/v1${new URL(link).pathname}`);
    expect(described.status).toBe(200);
    const execution = (await described.json()) as { workflowExecutionInfo?: { execution?: { workflowId?: string } } };
    expect(execution.workflowExecutionInfo?.execution?.workflowId).toBe(id);

    // Settled, it keeps the same createdAt; finishedAt comes after it.
    const done: HandoverView = await waitForStatus(withUi, id, ['completed']);
    expect(done.createdAt).toBe(started.createdAt);
    expect(done.links.temporalUi).toBe(link);
    expect(Date.parse(done.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
  });
});

describe('H21: validating, planning and finishing are seen through the API', () => {
  test('each step held in turn: GET shows status running and that phase; released, the handover completes', async () => {
    // The worker starts only after the holds are set: the first step cannot run before them.
    const queue = await ownQueue('phases');
    const t = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 4, 1);
    const { id } = expectStatus(
      await queue.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor })),
      202,
    );
    const held = [
      { step: gate.hold('validate', id), phase: 'validating' },
      { step: gate.hold('plan', id), phase: 'planning' },
      { step: gate.hold('finish', id), phase: 'finishing' },
    ];
    await queue.startWorker({ activity: [gate.interceptor] });
    for (const { step, phase } of held) {
      await step.reached;
      expect(await getHandover(queue.api, id)).toMatchObject({ id, status: 'running', phase });
      step.release();
    }
    const done = await waitForStatus(queue.api, id, ['completed', 'failed', 'compensated']);
    expect(done).toMatchObject({ status: 'completed', phase: 'done', summary: { customers: 4 } });
  });
});

describe('N5 and E11: the customers-assigned sentence, and MAIL_FROM on a received mail', () => {
  test('「{actor}さんが{n}名の顧客の担当をあなたに変更しました」 to a ja successor, "{actor} assigned {n} customers to you" to an en one', async () => {
    const { db, api } = env;
    // A: started by an office admin with a name; B and C by the org admin (no agent: the template's word for it).
    const officeA = await seedOffice(db);
    const starter = await createAgent(api, officeA, 'admin', {
      name: '佐藤 花子',
      email: `sato.${officeA}@example.test`,
    });
    const starterToken = await createToken(api, starter);
    const cases = [
      {
        office: officeA,
        token: starterToken,
        locale: 'ja' as const,
        customers: 7,
        sentence: (n: number) => `佐藤 花子さんが${n}名の顧客の担当をあなたに変更しました`,
      },
      {
        office: await seedOffice(db),
        token: ADMIN_TOKEN,
        locale: 'en' as const,
        customers: 6,
        sentence: (n: number) => `The administrator assigned ${n} customers to you`,
      },
      {
        office: await seedOffice(db),
        token: ADMIN_TOKEN,
        locale: 'ja' as const,
        customers: 5,
        sentence: (n: number) => `管理者さんが${n}名の顧客の担当をあなたに変更しました`,
      },
    ];
    const started = await Promise.all(
      cases.map(async (c) => {
        const leaver = await seedAgent(db, c.office);
        const successor = await seedAgent(db, c.office, { locale: c.locale });
        await seedBook(db, c.office, leaver, c.customers, 1);
        const body = offboard(leaver, { agentId: successor });
        const { id } = expectStatus(await api.call('POST', '/v1/handovers', body, c.token), 202);
        return { ...c, id, email: await agentEmail(env, successor) };
      }),
    );
    for (const c of started) {
      await workflowDone(env, c.id);
      const mails = env.smtp.mails.filter((m) => recipient(m) === c.email);
      // Every customer of the book moves (unsubscribed and trashed too): n is the book's size.
      const expected = c.sentence(c.customers);
      expect(mails.map((m) => m.subject)).toEqual([expected]);
      expect(mails[0]?.text).toContain(expected);
      // E11: the From header is MAIL_FROM as configured.
      expect(mails[0]?.from?.value).toEqual([{ name: 'Handover Desk', address: 'desk@clauses-more.test' }]);
    }
  });
});

describe('N12: without SMTP_URL, mail goes to .eml files', () => {
  test('a worker with no SMTP_URL writes one parseable .eml per outbox row to MAIL_OUTBOX_DIR', async () => {
    const outbox = await mkdtemp(join(tmpdir(), 'handover-outbox-'));
    cleanups.push(() => rm(outbox, { recursive: true, force: true }));
    const queue = await ownQueue('outbox', { SMTP_URL: undefined, MAIL_OUTBOX_DIR: outbox });
    expect(queue.config.smtpUrl).toBeUndefined();
    await queue.startWorker();
    const t: Team = await seedTeam(env);
    await seedBook(env.db, t.office, t.leaver, 3, 1);
    const { id } = expectStatus(
      await queue.api.call('POST', '/v1/handovers', offboard(t.leaver, { agentId: t.successor })),
      202,
    );
    await workflowDone(env, id);

    // The successor is told of its 3 customers; the office's admin that it finished (the org admin has no mailbox).
    const expected = [
      { to: await agentEmail(env, t.successor), subject: 'The administrator assigned 3 customers to you' },
      { to: await agentEmail(env, t.admin.id), subject: `The handover of ${await agentName(t.leaver)} is finished` },
    ];
    const byTo = (a: { to: string }, b: { to: string }) => a.to.localeCompare(b.to);
    const rows = await env.db
      .selectFrom('notification_outbox')
      .select(['email', 'subject', 'status'])
      .where('handover_id', '=', id)
      .execute();
    expect(rows.map((r) => ({ to: r.email, subject: r.subject, status: r.status })).sort(byTo)).toEqual(
      expected.map((e) => ({ ...e, status: 'sent' })).sort(byTo),
    );

    const files = (await readdir(outbox)).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(rows.length);
    const parsed = await Promise.all(files.map(async (f) => simpleParser(await readFile(join(outbox, f)))));
    expect(parsed.map((m) => ({ to: recipient(m), subject: m.subject })).sort(byTo)).toEqual(expected.sort(byTo));
    for (const m of parsed)
      expect(m.from?.value).toEqual([{ name: 'Handover Desk', address: 'desk@clauses-more.test' }]);
    // None of it went over SMTP.
    expect(env.smtp.mails.filter((m) => expected.some((e) => e.to === recipient(m)))).toEqual([]);
  });
});

describe('E4: TEMPORAL_ADDRESS unset', () => {
  test('src/main.ts (npm start) starts an embedded Temporal dev server: /readyz answers 200, the printed UI URL answers', async () => {
    // main.ts keeps the dev server's data under data/ of its working directory: a folder of the test's own.
    const cwd = await mkdtemp(join(tmpdir(), 'handover-start-'));
    const database = await createTestDatabase('embedded_start');
    // The Temporal settings unset, as on a fresh machine (TEMPORAL_CLI_PATH, where the CLI is, stays).
    const unset = ['TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE'];
    const childEnv: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !unset.includes(name)) {
        childEnv[name] = value;
      }
    }
    Object.assign(childEnv, {
      DATABASE_URL: database.url,
      PORT: '0',
      ADMIN_TOKEN,
      SMTP_URL: env.smtp.url,
      // The suite's bundle spares the start a webpack build.
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    });
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
    // Its own process group: the dev server it spawns goes down with it.
    const child: ChildProcess = spawn(process.execPath, ['--import', tsx, main], {
      cwd,
      env: childEnv,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const printed = await waitFor(
        () => `src/main.ts to print its addresses:\n${output}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`src/main.ts exited (${child.exitCode}):\n${output}`);
          const api = output.match(/^\s*API\s+(http:\/\/\S+)/m)?.[1];
          const ui = output.match(/^\s*Temporal UI\s+(http:\/\/\S+)/m)?.[1];
          const temporal = output.match(/^\s*Temporal\s+(\S+), namespace (\S+), task queue (\S+)$/m);
          return api && ui && temporal
            ? { api, ui, address: temporal[1], namespace: temporal[2], taskQueue: temporal[3] }
            : undefined;
        },
        90_000,
      );
      expect(output).toContain('TEMPORAL_ADDRESS is not set: starting an embedded Temporal dev server');
      // Its own server, not the suite's.
      expect(printed.address).not.toBe(temporalAddress());
      expect(printed).toMatchObject({ namespace: 'default', taskQueue: 'handover' });
      await waitFor('/readyz 200', async () => {
        const res = await fetch(`${printed.api}/readyz`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      });
      const page = await fetch(printed.ui);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      // The UI serves the embedded server: the daily schedule the service's worker created there (on
      // the default task queue) is in it.
      const schedule = await fetch(`${printed.ui}/api/v1/namespaces/default/schedules/trash-purge:handover`);
      expect(schedule.status).toBe(200);
    } finally {
      // SIGTERM: it stops its parts in order, the dev server last; then whatever of the group is left.
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // the whole group is gone already
      }
      await database.drop();
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
