/**
 * The office admin's console, driven in headless Chromium as an admin would: an offboard blocked
 * on a lead source and fixed from the page, a second one fixed from the form and cancelled
 * mid-move, the callback board, and an agent's token that sees only its own. Every page is checked
 * with axe-core, under the console's Content-Security-Policy, with no request leaving the origin.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectAccessible, launchChromium, screenshotFolder, watchPage } from '../helpers/browser';
import { createToken } from '../helpers/directory';
import { createHandoverEnv, type HandoverEnv, seedAgent, seedBook, seedOffice, waitFor } from '../helpers/handover-env';
import { lockLastCustomer, waitForApplied } from '../helpers/locks';
import { agentStatus, seedLeadSource } from '../helpers/offboard-api';

let env: HandoverEnv;
let browser: Browser;
let origin: string;
let shots: URL;

beforeAll(async () => {
  // Batches of 100: a held row lock stops a move of 1,000 customers mid-way.
  env = await createHandoverEnv('console', { MOVE_BATCH_SIZE: '100' });
  await env.startWorker();
  origin = await env.api.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  shots = await screenshotFolder();
});
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

interface Opened {
  page: Page;
  check(): void;
}

/** A new tab signed in with `token`, in `locale` (the browser's language picks the console's). */
async function signedIn(token: string, locale = 'en-GB'): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale, acceptDownloads: true });
  const page = await context.newPage();
  const watch = watchPage(page, origin);
  const response = await page.goto(`${origin}/console`);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  await expectAccessible(page, 'the sign-in page');
  await page.getByLabel(/API token|APIトークン/).fill(token);
  await page.getByRole('button', { name: /Sign in|サインイン/ }).click();
  await page.getByRole('button', { name: /Sign out|サインアウト/ }).waitFor();
  return { page, check: watch.check };
}

const status = (page: Page, value: string) =>
  page.locator(`[data-testid="handover-status"][data-status="${value}"]`).waitFor({ timeout: 60_000 });

async function countOf(env: HandoverEnv, ownerId: string) {
  const rows = await env.db
    .selectFrom('customers')
    .select(['subscribed', 'trashed_at'])
    .where('owner_id', '=', ownerId)
    .execute();
  return {
    customers: rows.length,
    unsubscribed: rows.filter((r) => !r.subscribed).length,
    trashed: rows.filter((r) => r.trashed_at !== null).length,
  };
}

describe('the console', () => {
  test('an office admin offboards an agent: blocked on a lead source, routed from the page, completed', async () => {
    const { db } = env;
    const office = await seedOffice(db, 'Tokyo');
    const adminId = await seedAgent(db, office, { name: 'Aiko Admin', role: 'admin' });
    const leaver = await seedAgent(db, office, { name: 'Xavier Sato' });
    const yuki = await seedAgent(db, office, { name: 'Yuki Ito' });
    const ken = await seedAgent(db, office, { name: 'Ken Mori' });
    await seedBook(db, office, leaver, 200, 2);
    const source = await seedLeadSource(env, office, leaver, 'SUUMO portal');
    const expected = await countOf(env, leaver);
    expect(expected.customers).toBe(200);

    const { page, check } = await signedIn(await createToken(env.api, adminId));
    await page.getByRole('heading', { name: 'Agents of Tokyo' }).waitFor();
    const row = page.locator('tr', { hasText: 'Xavier Sato' });
    await expect.poll(() => row.locator('td').nth(3).textContent()).toBe(String(expected.customers));
    await expectAccessible(page, 'the agents page');
    await page.screenshot({ path: new URL('console-agents.png', shots).pathname });

    await page.getByRole('link', { name: 'Xavier Sato' }).click();
    await page.getByRole('heading', { name: 'Xavier Sato', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Offboard' }).click();
    await page.getByLabel('Successor agent').selectOption({ label: 'Yuki Ito' });
    await page.getByLabel('Reason (optional)').fill('left the company');
    // The preview, from the seeded book's rules: every customer, subscribed or not, trashed or not.
    await page
      .getByText(
        `${expected.customers} customers (${expected.unsubscribed} unsubscribed, ${expected.trashed} in the trash)`,
      )
      .waitFor();
    await page.getByText('Waiting for lead sources').waitFor();
    await expect.poll(() => page.getByRole('cell', { name: 'Yuki Ito' }).count()).toBe(1);
    await expectAccessible(page, 'the offboard form');
    await page.screenshot({ path: new URL('console-offboard-preview.png', shots).pathname });

    // A double click starts one handover (the same Idempotency-Key for the same body).
    await page.getByRole('button', { name: 'Start' }).dblclick();
    await status(page, 'blocked');
    const handovers = await db.selectFrom('handovers').select('id').where('agent_id', '=', leaver).execute();
    expect(handovers).toHaveLength(1);
    const id = handovers[0]!.id;
    expect(page.url()).toBe(`${origin}/console/handovers/${id}`);
    await page.getByText('Route each lead source below to someone else').waitFor();
    await expectAccessible(page, 'a blocked handover');
    await page.screenshot({ path: new URL('console-handover-blocked.png', shots).pathname, fullPage: true });

    await page.getByLabel('Route SUUMO portal to').selectOption({ label: 'Ken Mori' });
    await page.getByRole('button', { name: 'Route' }).click();
    await status(page, 'completed');
    await page.getByRole('heading', { name: 'Summary' }).waitFor();
    await expectAccessible(page, 'a completed handover');
    await page.screenshot({ path: new URL('console-handover-completed.png', shots).pathname, fullPage: true });

    const routed = await db
      .selectFrom('lead_sources')
      .select('default_assignee_id')
      .where('key', '=', source)
      .executeTakeFirstOrThrow();
    expect(routed.default_assignee_id).toBe(ken);
    expect(await agentStatus(env, leaver)).toBe('offboarded');
    expect((await countOf(env, yuki)).customers).toBe(expected.customers);
    // The successor's mail links to this page, in a text and an HTML part.
    const yukiEmail = (await db.selectFrom('agents').select('email').where('id', '=', yuki).executeTakeFirstOrThrow())
      .email;
    const mail = await waitFor('the customers-assigned mail', async () =>
      env.smtp.mails.find((m) => (m.to && 'text' in m.to ? m.to.text : '') === yukiEmail),
    );
    const link = `/console/handovers/${id}`;
    expect(mail.text).toContain(link);
    expect(mail.html || '').toContain(`href="`);
    expect(mail.html || '').toContain(link);
    check();
  });

  test('a lead source routed from the form, then the offboard cancelled mid-move and shown compensated', async () => {
    const { db } = env;
    const office = await seedOffice(db, 'Osaka');
    const adminId = await seedAgent(db, office, { name: 'Oda Admin', role: 'admin' });
    const leaver = await seedAgent(db, office, { name: 'Sora Leaver' });
    await seedAgent(db, office, { name: 'Mio Successor' });
    await seedBook(db, office, leaver, 1000, 1);
    await seedLeadSource(env, office, leaver, 'HOMES portal');
    const before = await countOf(env, leaver);

    const { page, check } = await signedIn(await createToken(env.api, adminId));
    await page.getByRole('link', { name: 'Sora Leaver' }).click();
    await page.getByRole('button', { name: 'Offboard' }).click();
    await page.getByLabel('Route HOMES portal to').selectOption({ label: 'Mio Successor' });
    await page.getByRole('button', { name: 'Route' }).click();
    await page.getByText('HOMES portal now goes to Mio Successor.').waitFor();
    // The form asks again: nothing blocks any more.
    await expect.poll(() => page.getByText('Waiting for lead sources').count()).toBe(0);

    const lock = await lockLastCustomer(env, leaver);
    try {
      await page.getByRole('button', { name: 'Start' }).click();
      await page.getByTestId('handover-status').waitFor();
      const id = page.url().split('/').pop()!;
      await waitForApplied(db, id, 500);
      await page.getByText(/[1-9]\d* of 1\d{3} moved/).waitFor();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('button', { name: 'Yes, cancel it' }).click();
      await page.getByText('Cancel requested').waitFor();
    } finally {
      await lock.release();
    }
    await status(page, 'compensated');
    await page.getByText(/\d+ reverted/).waitFor();
    await expectAccessible(page, 'a compensated handover');
    await page.screenshot({ path: new URL('console-handover-compensated.png', shots).pathname, fullPage: true });
    expect(await countOf(env, leaver)).toEqual(before);
    expect(await agentStatus(env, leaver)).toBe('active');
    check();
  });

  test('the callback board: filtered by alert, ticked rows handed to an agent and to a pool, CSV of the filter, live alerts', async () => {
    const { db } = env;
    const office = await seedOffice(db, 'Nagoya');
    const adminId = await seedAgent(db, office, { name: 'Nao Admin', role: 'admin' });
    const rin = await seedAgent(db, office, { name: 'Rin Caller' });
    const taro = await seedAgent(db, office, { name: 'Taro Cover' });
    const hana = await seedAgent(db, office, { name: 'Hana Pool' });
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000);
    const seeded = [
      { name: 'Overdue One', starts: -60, ends: -30, campaign: null },
      { name: 'Due One', starts: -5, ends: 25, campaign: null },
      { name: 'Soon One', starts: 5, ends: 35, campaign: null },
      { name: 'Spring One', starts: 120, ends: 150, campaign: 'spring-fair' },
      { name: 'Spring Two', starts: 180, ends: 210, campaign: 'spring-fair' },
      { name: 'Autumn One', starts: 240, ends: 270, campaign: 'autumn' },
    ];
    await db
      .insertInto('callbacks')
      .values(
        seeded.map((c) => ({
          name: c.name,
          phone: '+81-52-000-0000',
          starts_at: at(c.starts),
          ends_at: at(c.ends),
          assignee_id: rin,
          campaign: c.campaign,
        })),
      )
      .execute();
    const idOf = async (name: string) =>
      (await db.selectFrom('callbacks').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
    const assigneeOf = async (name: string) =>
      (await db.selectFrom('callbacks').select('assignee_id').where('name', '=', name).executeTakeFirstOrThrow())
        .assignee_id;

    const { page, check } = await signedIn(await createToken(env.api, adminId));
    await page.getByRole('link', { name: 'Callback board' }).click();
    const rows = page.locator('tr[data-callback]');
    await expect.poll(() => rows.count()).toBe(seeded.length);

    await page.getByLabel('Alert').selectOption('overdue');
    const overdue = seeded.filter((c) => c.ends < 0).length;
    await expect.poll(() => page.locator('tr[data-callback][data-alert="overdue"]').count()).toBe(overdue);
    await expect.poll(() => rows.count()).toBe(overdue);
    await expectAccessible(page, 'the callback board filtered by alert');
    await page.getByLabel('Alert').selectOption('');
    await page.getByLabel('Assignee').selectOption({ label: 'Rin Caller' });
    await expect.poll(() => rows.count()).toBe(seeded.length);
    await page.screenshot({ path: new URL('console-callbacks.png', shots).pathname, fullPage: true });

    // Two ticked rows to one agent.
    await page.getByRole('checkbox', { name: /Spring One/ }).check();
    await page.getByRole('checkbox', { name: /Spring Two/ }).check();
    await page.getByLabel('Agent to hand them to').selectOption({ label: 'Taro Cover' });
    await page.getByRole('button', { name: 'Hand over 2' }).click();
    await page.getByText('2 callbacks handed over.').waitFor();
    expect([await assigneeOf('Spring One'), await assigneeOf('Spring Two')]).toEqual([taro, taro]);
    await expect.poll(() => page.getByText('2 callbacks handed over.').count()).toBe(1);

    // Two more round robin over a pool of two: one each.
    await page.getByRole('checkbox', { name: /Soon One/ }).check();
    await page.getByRole('checkbox', { name: /Autumn One/ }).check();
    await page.getByRole('radio', { name: 'a pool (round robin)' }).check();
    await page.getByRole('checkbox', { name: 'Taro Cover' }).check();
    await page.getByRole('checkbox', { name: 'Hana Pool' }).check();
    await page.getByRole('button', { name: 'Hand over 2' }).click();
    await expect
      .poll(async () => [await assigneeOf('Soon One'), await assigneeOf('Autumn One')].sort())
      .toEqual([taro, hana].sort());
    await page.getByText('2 callbacks handed over.').waitFor();

    // The CSV is what the filter shows: every callback of the campaign, whoever has it now.
    await page.getByLabel('Assignee').selectOption('');
    await page.getByLabel('Campaign').fill('spring-fair');
    await page.getByLabel('Campaign').press('Tab');
    await expect.poll(() => rows.count()).toBe(seeded.filter((c) => c.campaign === 'spring-fair').length);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    const csv = (await readFile((await download.path())!, 'utf8')).trim().split(/\r?\n/);
    expect(csv[0]).toMatch(/^id,customerId,name,phone,startsAt,endsAt,assigneeId,campaign/);
    const inCsv = csv.slice(1).map((line) => line.split(',')[0]);
    expect(inCsv.sort()).toEqual([await idOf('Spring One'), await idOf('Spring Two')].sort());

    // A callback that turns `soon` while the board is open shows so without a reload.
    await page.getByLabel('Campaign').fill('');
    await page.getByLabel('Campaign').press('Tab');
    const startsIn = 10 * 60_000 + 4_000; // just outside the 10-minute window
    await db
      .insertInto('callbacks')
      .values({
        name: 'Turning Soon',
        phone: '+81-52-000-0001',
        starts_at: new Date(Date.now() + startsIn),
        ends_at: new Date(Date.now() + startsIn + 30 * 60_000),
        assignee_id: rin,
      })
      .execute();
    const turning = page.locator('tr[data-callback]', { hasText: 'Turning Soon' });
    await turning.waitFor({ timeout: 20_000 });
    await page.locator('tr[data-alert="soon"]', { hasText: 'Turning Soon' }).waitFor({ timeout: 30_000 });
    check();
  });

  test('an agent’s token sees only its own customers and callbacks, in Japanese from the browser, switchable', async () => {
    const { db } = env;
    const office = await seedOffice(db, 'Sapporo');
    const mine = await seedAgent(db, office, { name: 'Emi Self' });
    const theirs = await seedAgent(db, office, { name: 'Goro Other' });
    await seedBook(db, office, mine, 7, 0);
    await seedBook(db, office, theirs, 4, 0);
    for (const [assignee, name] of [
      [mine, 'Mine Caller'],
      [theirs, 'Their Caller'],
    ] as const) {
      await db
        .insertInto('callbacks')
        .values({
          name,
          phone: '+81-11-000-0000',
          starts_at: new Date(),
          ends_at: new Date(Date.now() + 3_600_000),
          assignee_id: assignee,
        })
        .execute();
    }
    const own = await db
      .selectFrom('customers')
      .select('id')
      .where('owner_id', '=', mine)
      .where('trashed_at', 'is', null)
      .execute();
    const other = await db
      .selectFrom('customers')
      .select('id')
      .where('owner_id', '=', theirs)
      .executeTakeFirstOrThrow();

    const { page, check } = await signedIn(await createToken(env.api, mine), 'ja-JP');
    await page.getByRole('heading', { name: '顧客', level: 1 }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('ja');
    // No admin screens: no agents or handovers in the navigation.
    expect(await page.getByRole('navigation').getByRole('link').allTextContents()).toEqual([
      '顧客',
      '折り返し電話ボード',
    ]);
    const rows = page.locator('main tbody tr');
    await expect.poll(() => rows.count()).toBe(own.length);
    expect(new Set(await rows.locator('td:nth-child(2)').allTextContents())).toEqual(new Set(['Emi Self']));
    await expectAccessible(page, 'an agent’s customers (ja)');
    await page.screenshot({ path: new URL('console-agent-ja.png', shots).pathname });

    await page.goto(`${origin}/console/customers/${other.id}`);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('できません');

    await page.getByRole('link', { name: '折り返し電話ボード' }).click();
    await expect.poll(() => page.locator('tr[data-callback]').count()).toBe(1);
    expect(await page.locator('tr[data-callback]').textContent()).toContain('Mine Caller');
    expect(await page.getByRole('button', { name: /件を引き継ぐ/ }).count()).toBe(0);

    await page.getByLabel('言語').selectOption('en');
    await page.getByRole('heading', { name: 'Callback board' }).waitFor();
    await expectAccessible(page, 'an agent’s callback board');
    check();
  });
});
