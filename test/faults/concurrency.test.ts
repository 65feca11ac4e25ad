/**
 * Concurrency faults: an offboard to a successor that is itself being offboarded; a customer reassigned
 * by hand after the plan and before its batch, then the handover cancelled; 50 offboards at once on
 * overlapping successor pools.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedAgent,
  seedBook,
  seedCallback,
  seedOffice,
  waitForStatus,
} from '../helpers/handover-env';
import { waitForLockWaits } from '../helpers/locks';
import { checkInvariants, lockLastCustomer, waitForApplied } from './helpers';

let env: HandoverEnv;
/** Runs before a handover's move activity starts (after its plan). */
const beforeMove = new Map<string, () => Promise<void>>();
const hooks: ActivityInterceptorsFactory = (ctx: Context) => ({
  inbound: {
    async execute(input, next) {
      const hook = beforeMove.get(String(input.args[0]));
      if (ctx.info.activityType === 'move' && hook) {
        beforeMove.delete(String(input.args[0]));
        await hook();
      }
      return next(input);
    },
  },
});

beforeAll(async () => {
  env = await createHandoverEnv('fault_concurrency', { MOVE_BATCH_SIZE: '100' });
  await env.startWorker({ activity: [hooks] });
});
afterAll(() => env?.close());

const settled = ['completed', 'compensated', 'failed', 'cancelled'];
const offboard = (agentId: string, to: object) =>
  env.api.call('POST', '/v1/handovers', { kind: 'offboard', agentId, to });

async function ownedByOffboarded(agentIds: string[]) {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from customers c join agents a on a.id = c.owner_id
    where a.status = 'offboarded' and a.id = any(${agentIds}::text[])`.execute(env.db);
  return rows[0]!.n;
}

describe('a successor that is being offboarded itself', () => {
  test('while B is being offboarded, an offboard of A to B is refused with 422', async () => {
    const { db, api } = env;
    const office = await seedOffice(db);
    await seedAgent(db, office, { role: 'admin' });
    const [a, b, c] = [await seedAgent(db, office), await seedAgent(db, office), await seedAgent(db, office)];
    await seedBook(db, office, a, 5, 1);
    await seedBook(db, office, b, 5, 1);
    // B's offboard is held blocked by a lead source that names B.
    await db
      .insertInto('lead_sources')
      .values({ key: `portal-${b}`, name: 'Portal', office_id: office, default_assignee_id: b })
      .execute();
    const bHandover = expectStatus(await offboard(b, { agentId: c }), 202);
    await waitForStatus(api, bHandover.id, ['blocked']);
    const refused = expectStatus(await offboard(a, { agentId: b }), 422);
    expect(refused.detail).toContain('leaving');
    const pooled = expectStatus(await offboard(a, { pool: [b, c], strategy: 'round-robin' }), 422);
    expect(pooled.detail).toContain('leaving');
    expectStatus(await api.call('POST', `/v1/handovers/${bHandover.id}/cancel`), 202);
    expect((await waitForStatus(api, bHandover.id, settled)).status).toBe('cancelled');
  });

  test('A→B got in first and is mid-move when B is offboarded: no customer ends with an offboarded agent', async () => {
    const { db, api } = env;
    const office = await seedOffice(db);
    await seedAgent(db, office, { role: 'admin' });
    const [a, b, c] = [await seedAgent(db, office), await seedAgent(db, office), await seedAgent(db, office)];
    await seedBook(db, office, a, 300, 1);
    await seedBook(db, office, b, 5, 1);
    const lock = await lockLastCustomer(env, a); // A's move stops at its last batch
    const aHandover = expectStatus(await offboard(a, { agentId: b }), 202);
    await waitForApplied(db, aHandover.id, 200);
    // B is still active, so its offboard is accepted while A's move to B is in flight.
    const bHandover = expectStatus(await offboard(b, { agentId: c }), 202);
    // The race named above: B's validate (marking B leaving) waits behind A's batch, which holds B
    // FOR SHARE while it waits on the held customer. Two lock waits: A's batch, B's validate.
    await waitForLockWaits(db, 2, "A's last batch and B's validate");
    await lock.release();
    const [aDone, bDone] = await Promise.all([
      waitForStatus(api, aHandover.id, settled, 60_000),
      waitForStatus(api, bHandover.id, settled, 60_000),
    ]);
    expect(await ownedByOffboarded([a, b, c])).toBe(0);
    expect(aDone.status).toBe('completed');
    expect(bDone.status).toBe('completed');
    // Everything ends with C: A's customers went through B, who handed them on.
    const { rows } = await sql<{ owner_id: string; n: number }>`
      select owner_id, count(*)::int as n from customers where owner_id = any(${[a, b, c]}::text[]) group by owner_id`.execute(
      db,
    );
    expect(rows).toEqual([{ owner_id: c, n: 305 }]);
    await checkInvariants(db, aHandover.id, a, { smtp: env.smtp, temporal: env.temporal.client });
    await checkInvariants(db, bHandover.id, b, { smtp: env.smtp, temporal: env.temporal.client });
  });
});

test('a customer reassigned by hand after the plan, before its batch: kept and reported, not clobbered by compensation', async () => {
  const { db, api } = env;
  const office = await seedOffice(db);
  const admin = await seedAgent(db, office, { role: 'admin' });
  const leaver = await seedAgent(db, office);
  const successor = await seedAgent(db, office);
  const other = await seedAgent(db, office);
  await seedBook(db, office, leaver, 300, 1);
  await seedCallback(db, leaver, 30);
  const customers = await db
    .selectFrom('customers')
    .select('id')
    .where('owner_id', '=', leaver)
    .orderBy('id')
    .execute();
  const touched = customers[250]!.id; // in the last batch
  const lock = await lockLastCustomer(env, leaver);
  const { id } = expectStatus(await offboard(leaver, { agentId: successor }), 202);
  beforeMove.set(id, async () => {
    await sql`update customers set owner_id = ${other} where id = ${touched}`.execute(db);
  });
  await waitForApplied(db, id, 200);
  expectStatus(await api.call('POST', `/v1/handovers/${id}/cancel`), 202);
  await lock.release();

  const done = await waitForStatus(api, id, settled, 60_000);
  expect(done.status).toBe('compensated');
  expect(done.summary.conflicts).toEqual([
    { entity: 'customer', id: touched, detail: expect.stringContaining('changed by someone else') },
  ]);
  expect(
    (await db.selectFrom('customers').select('owner_id').where('id', '=', touched).executeTakeFirstOrThrow()).owner_id,
  ).toBe(other);
  const { rows } = await sql<{ owner_id: string; n: number }>`
    select owner_id, count(*)::int as n from customers where owner_id = any(${[leaver, successor, other, admin]}::text[])
    group by owner_id order by n desc`.execute(db);
  expect(rows).toEqual([
    { owner_id: leaver, n: 299 },
    { owner_id: other, n: 1 },
  ]);
  const agent = await db.selectFrom('agents').select('status').where('id', '=', leaver).executeTakeFirstOrThrow();
  expect(agent.status).toBe('active');
  await checkInvariants(db, id, leaver, { smtp: env.smtp, temporal: env.temporal.client });
});

test('50 offboards at once on overlapping pools: all complete, and the successors hold exactly what the summaries say', async () => {
  const { db, api } = env;
  const office = await seedOffice(db);
  await seedAgent(db, office, { role: 'admin' });
  const successors: string[] = [];
  for (let i = 0; i < 10; i++) successors.push(await seedAgent(db, office));
  const leavers: string[] = [];
  for (let i = 0; i < 50; i++) {
    const leaver = await seedAgent(db, office);
    await seedBook(db, office, leaver, 3 + (i % 5), 1);
    leavers.push(leaver);
  }
  const started = await Promise.all(
    leavers.map(async (leaver, i) => {
      const pool = [0, 3, 7].map((k) => successors[(i + k) % 10]!);
      const strategy = i % 2 ? 'least-loaded' : 'round-robin';
      return expectStatus(await offboard(leaver, { pool, strategy }), 202).id as string;
    }),
  );
  const done = await Promise.all(started.map((id) => waitForStatus(api, id, settled, 90_000)));
  expect(done.map((d) => d.status)).toEqual(started.map(() => 'completed'));

  const expected = new Map<string, number>();
  for (const d of done) {
    for (const [agentId, n] of Object.entries(d.summary.bySuccessor as Record<string, number>)) {
      expected.set(agentId, (expected.get(agentId) ?? 0) + n);
    }
  }
  const { rows } = await sql<{ owner_id: string; n: number }>`
    select owner_id, count(*)::int as n from customers where owner_id = any(${successors}::text[]) group by owner_id`.execute(
    db,
  );
  expect(Object.fromEntries(rows.map((r) => [r.owner_id, r.n]))).toEqual(Object.fromEntries(expected));
  const total = leavers.reduce((sum, _, i) => sum + 3 + (i % 5), 0);
  expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(total);
  for (const [i, id] of started.entries()) await checkInvariants(db, id, leavers[i]!, { smtp: env.smtp });
  expect(await ownedByOffboarded(leavers)).toBe(0);
});
