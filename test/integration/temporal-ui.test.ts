/**
 * The Temporal Web UI explains a handover by itself: drives headless Chromium (Debian's package,
 * through playwright-core — no browser download) against the dev server's UI, filters by the
 * AgentId search attribute, and saves screenshots to a temporary folder; with UPDATE_SCREENSHOTS=1
 * under docs/screenshots/ (linked from the README) instead, so a test run never changes tracked files.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { launchChromium, screenshotFolder } from '../helpers/browser';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedOffice,
  waitForStatus,
} from '../helpers/handover-env';

let SHOTS: URL;
let env: HandoverEnv;
let browser: Browser;

beforeAll(async () => {
  env = await createHandoverEnv('ui');
  await env.startWorker();
  browser = await launchChromium();
  SHOTS = await screenshotFolder();
});
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

test('an operator finds a blocked handover by AgentId and reads what it waits for', async () => {
  const ui = inject('temporalUiUrl');
  expect(ui).toMatch(/^http/);
  const { db, api } = env;
  const office = await seedOffice(db, 'Tokyo');
  const leaver = await seedAgent(db, office, { name: 'Xavier Sato' });
  const successor = await seedAgent(db, office, { name: 'Yuki Ito' });
  await seedBook(db, office, leaver, 312, 1);
  await db
    .insertInto('lead_sources')
    .values({ key: 'portal-suumo-ui', name: 'SUUMO portal', office_id: office, default_assignee_id: leaver })
    .execute();
  const { id } = expectStatus(
    await api.call('POST', '/v1/handovers', {
      kind: 'offboard',
      agentId: leaver,
      to: { agentId: successor },
      reason: 'left the company',
    }),
    202,
  );
  await waitForStatus(api, id, ['blocked']);

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const query = encodeURIComponent(`AgentId="${leaver}" AND HandoverStatus="blocked"`);
  // Visibility is eventually consistent: reload until the list shows the handover.
  for (let i = 0; i < 20; i++) {
    await page.goto(`${ui}/namespaces/default/workflows?query=${query}`, { waitUntil: 'load' });
    const found = await page
      .getByText(id)
      .first()
      .waitFor({ timeout: 3000 })
      .then(() => true)
      .catch(() => false);
    if (found) break;
  }
  expect(await page.getByText(id).first().isVisible()).toBe(true);
  await page.screenshot({ path: new URL('workflows-filtered-by-agent.png', SHOTS).pathname });

  await page.goto(`${ui}/namespaces/default/workflows/${id}`, { waitUntil: 'load' });
  await page.getByText('Offboard Xavier Sato → Yuki Ito').first().waitFor({ timeout: 15_000 });
  await page.screenshot({ path: new URL('blocked-handover-history.png', SHOTS).pathname });
  // Summary, details and the live line (setCurrentDetails) are under "User Metadata".
  await page.getByText('User Metadata').first().click();
  // The UI renders the markdown of summaries and details in sandboxed frames.
  const live = 'blocked by lead sources: portal-suumo-ui';
  let shown = false;
  for (let i = 0; i < 30 && !shown; i++) {
    for (const frame of page.frames()) shown ||= (await frame.getByText(live).count()) > 0;
    if (!shown) await page.waitForTimeout(500);
  }
  expect(shown).toBe(true);
  await page.screenshot({ path: new URL('blocked-handover.png', SHOTS).pathname });
  await page.close();

  expectStatus(await api.call('POST', `/v1/handovers/${id}/cancel`), 202);
  await waitForStatus(api, id, ['cancelled']);
});
