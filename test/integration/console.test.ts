/**
 * The office admin's console, driven in headless Chromium as an admin would: an offboard blocked
 * on a lead source and fixed from the page, a second one fixed from the form and cancelled
 * mid-move, the callback board, and an agent's token that sees only its own. Every page is checked
 * with axe-core, under the console's Content-Security-Policy, with no request leaving the origin.
 */
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
});
