/**
 * More clauses of the contract (API.md) that no other test checked as written, as an API client sees them:
 * - C13: `errors` names at most 20 fields (bulk rows, import duplicates, schema violations);
 * - H12: `options` defaults (recheckIntervalSeconds 300, escalateAfterSeconds 86400) and given
 *   options, as the workflow's recorded input and the timers of its blocked wait;
 * - H17: a Handover's `createdAt` and `links: {self, temporalUi}`, with and without TEMPORAL_UI_URL;
 * - H21: an API client sees the phases `validating`, `planning` and `finishing` while each step is held.
 * The mail and configuration clauses (N5, E11, N12, E4) are in contract-clauses-mail-config.test.ts.
 * Expected numbers come from the seeded books; handovers of this file start as the org admin unless
 * a test says otherwise.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { HandoverInput } from '../../src/domain/handover';
import { activityGate } from '../helpers/activity-gate';
import { buildTestApi, type TestApi } from '../helpers/api';
import { expectStatus } from '../helpers/directory';
import {
  createHandoverEnv,
  type HandoverEnv,
  seedBook,
  seedOffice,
  waitFor,
  waitForStatus,
} from '../helpers/handover-env';
import { offboard, seedLeadSource, seedTeam } from '../helpers/offboard-api';
import { ownQueue } from '../helpers/own-queue';

let env: HandoverEnv;
/** Workers and APIs of this file's own (stopped before the environment closes), last started first. */
const cleanups: Array<() => Promise<void>> = [];
const gate = activityGate();

beforeAll(async () => {
  env = await createHandoverEnv('clauses_api');
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
    const queue = await ownQueue(env, cleanups, 'phases');
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
