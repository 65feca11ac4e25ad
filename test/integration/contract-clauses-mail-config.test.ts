/**
 * More clauses of the contract (API.md) that no other test checked as written, on mail and configuration:
 * - N5 (and E11): the exact customers-assigned sentence in Japanese and English, and MAIL_FROM
 *   as the From of a received mail;
 * - N12: without SMTP_URL, one parseable `.eml` per outbox row in MAIL_OUTBOX_DIR;
 * - E4: without TEMPORAL_ADDRESS, `npm start` (src/main.ts) runs an embedded Temporal dev server with its UI.
 * The clauses an API client sees (C13, H12, H17, H21) are in contract-clauses-api.test.ts.
 * Expected numbers come from the seeded books; handovers of this file start as the org admin unless
 * a test says otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/api';
import { createTestDatabase } from '../helpers/database';
import { createAgent, createToken, expectStatus } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, seedAgent, seedBook, seedOffice, waitFor } from '../helpers/handover-env';
import { agentEmail, offboard, seedTeam, type Team, workflowDone } from '../helpers/offboard-api';
import { ownQueue } from '../helpers/own-queue';
import { temporalAddress } from '../helpers/temporal';

/** A From with a display name, so the received header shows it was this setting, not the default. */
const MAIL_FROM = 'Handover Desk <desk@clauses-more.test>';

let env: HandoverEnv;
/** Workers and APIs of this file's own (stopped before the environment closes), last started first. */
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  env = await createHandoverEnv('clauses_mail', { MAIL_FROM });
  await env.startWorker();
});
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  await env?.close();
});

const agentName = async (id: string) =>
  (await env.db.selectFrom('agents').select('name').where('id', '=', id).executeTakeFirstOrThrow()).name;
const recipient = (m: ParsedMail) => (m.to && !Array.isArray(m.to) ? (m.to.value[0]?.address ?? '') : '');

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
    const queue = await ownQueue(env, cleanups, 'outbox', { SMTP_URL: undefined, MAIL_OUTBOX_DIR: outbox });
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
