/**
 * The replay guard's fixtures (test/fixtures/histories): which branches of the workflows a
 * recorded history takes, read from the history itself, and the recorder that adds new ones.
 * test/integration/replay.test.ts replays every fixture against today's workflow code and checks
 * that each branch has a fixture that really takes it.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Db } from '../../src/db/connect';

export const HISTORIES_DIR = new URL('../fixtures/histories/', import.meta.url);

type History = temporal.api.history.v1.IHistory;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;
const { EventType } = temporal.api.enums.v1;

/** Every branch the guard wants a fixture of; `branchesOf` says which ones a history takes. */
export const BRANCHES = [
  // outcomes
  'completed',
  'cancelled before anything moved',
  'cancelled while moving, every move reverted',
  'failed after moves began, every move reverted',
  'failed before anything moved',
  'failed: compensation could not finish',
  'cancel requested while a step ran',
  // waits
  'effectiveAt wait, then went on',
  'effectiveAt wait, cancelled',
  'blocked, unbounded wait (runs before bounded-blocked-wait)',
  'blocked, bounded wait (bounded-blocked-wait)',
  'blocked, escalated',
  'blocked, woken by a recheck signal',
  'continued as new while blocked',
  'resumed after continue-as-new',
  'cover ended at until',
  "cover ended by the agent's return",
  // moves
  'sweep found work: a second move',
  // the cancellation type of the steps, by patch
  'steps cancelled by try-cancel (runs before steps-end-before-compensation)',
  'steps wait for their cancellation (steps-end-before-compensation)',
  // the other workflows
  'heal',
  'integrity digest',
  'trash purge (runs before ledger-retention)',
  'trash purge, then ledger retention (ledger-retention)',
] as const;
export type Branch = (typeof BRANCHES)[number];

function decode(payloads: Payloads): unknown[] {
  return (payloads?.payloads ?? []).map((p) => {
    const encoding = Buffer.from(p.metadata?.encoding ?? []).toString();
    return encoding === 'json/plain' ? JSON.parse(Buffer.from(p.data ?? []).toString()) : undefined;
  });
}

const eventName = (type: number | null | undefined) =>
  (EventType[type ?? 0] ?? String(type)).replace(/^EVENT_TYPE_/, '');

interface Step {
  /** activity type, signal name, patch ID or timer event */
  what: string;
  args: unknown[];
}

/** The history as the workflow code drove it: activities, timers, signals, patches, the close. */
function stepsOf(history: History) {
  const events = history.events ?? [];
  const steps: Step[] = [];
  for (const e of events) {
    const type = eventName(e.eventType);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      steps.push({ what: `activity ${a.activityType?.name}`, args: decode(a.input) });
    } else if (e.workflowExecutionSignaledEventAttributes) {
      steps.push({ what: `signal ${e.workflowExecutionSignaledEventAttributes.signalName}`, args: [] });
    } else if (e.markerRecordedEventAttributes) {
      const [patch] = decode(e.markerRecordedEventAttributes.details?.['patch-data']) as [{ id?: string }?];
      steps.push({ what: `patch ${patch?.id ?? e.markerRecordedEventAttributes.markerName}`, args: [] });
    } else if (e.workflowExecutionStartedEventAttributes) {
      const s = e.workflowExecutionStartedEventAttributes;
      steps.push({ what: `start ${s.workflowType?.name}`, args: decode(s.input) });
    } else if (
      type.startsWith('TIMER_') ||
      type.startsWith('START_CHILD') ||
      type.startsWith('CHILD_WORKFLOW_') ||
      type === 'WORKFLOW_EXECUTION_CANCEL_REQUESTED' ||
      type === 'ACTIVITY_TASK_CANCEL_REQUESTED'
    ) {
      steps.push({ what: type, args: [] });
    } else if (type.startsWith('WORKFLOW_EXECUTION_') && !type.startsWith('WORKFLOW_EXECUTION_UPDATE')) {
      const failure = e.workflowExecutionFailedEventAttributes?.failure?.message ?? '';
      steps.push({ what: `close ${type.replace('WORKFLOW_EXECUTION_', '')}`, args: [failure] });
    }
  }
  return steps;
}

interface HandoverArgs {
  kind?: string;
  cover?: boolean;
  effectiveAt?: string;
  resume?: unknown;
}

/** The branches of the workflows that `history` takes, read from its events. */
export function branchesOf(history: History): Set<Branch> {
  const steps = stepsOf(history);
  const out = new Set<Branch>();
  const start = steps[0];
  const close = steps.at(-1);
  if (start?.what === 'start healHandoverWorkflow') out.add('heal');
  if (start?.what === 'start integrityDigestWorkflow') out.add('integrity digest');
  if (start?.what === 'start trashPurgeWorkflow') {
    out.add(
      steps.some((s) => s.what === 'patch ledger-retention')
        ? 'trash purge, then ledger retention (ledger-retention)'
        : 'trash purge (runs before ledger-retention)',
    );
  }
  if (start?.what !== 'start handoverWorkflow') return out;

  const input = (start.args[0] ?? {}) as HandoverArgs;
  const index = (what: string) => steps.findIndex((s) => s.what === what);
  const has = (what: string) => index(what) >= 0;
  const activities = (type: string) => steps.filter((s) => s.what === `activity ${type}`);
  const notified = activities('notify').map((s) => s.args[1]);
  const moved = activities('move').length > 0;

  switch (close?.what) {
    case 'close COMPLETED':
      out.add('completed');
      break;
    case 'close CANCELED':
      out.add(moved ? 'cancelled while moving, every move reverted' : 'cancelled before anything moved');
      break;
    case 'close FAILED': {
      const message = String(close.args[0]);
      if (message.includes('compensation could not finish')) out.add('failed: compensation could not finish');
      else if (message.startsWith('handover compensated')) out.add('failed after moves began, every move reverted');
      else out.add('failed before anything moved');
      break;
    }
    case 'close CONTINUED_AS_NEW':
      out.add('continued as new while blocked');
      break;
  }
  if (input.resume) out.add('resumed after continue-as-new');
  // The steps' cancellation type (see the patch below) only shows when a cancel meets one in flight.
  if (has('ACTIVITY_TASK_CANCEL_REQUESTED')) out.add('cancel requested while a step ran');

  if (input.effectiveAt && !input.resume) {
    if (has('activity validate')) out.add('effectiveAt wait, then went on');
    else if (has('WORKFLOW_EXECUTION_CANCEL_REQUESTED')) out.add('effectiveAt wait, cancelled');
  }

  // Blocked: the admins were told (a fresh run), or a continued run goes on waiting.
  if (notified.includes('blocked') || input.resume) {
    out.add(
      input.resume || has('patch bounded-blocked-wait')
        ? 'blocked, bounded wait (bounded-blocked-wait)'
        : 'blocked, unbounded wait (runs before bounded-blocked-wait)',
    );
    if (has('signal recheck')) out.add('blocked, woken by a recheck signal');
  }
  if (notified.includes('escalated')) out.add('blocked, escalated');

  if (activities('move').length >= 2) out.add('sweep found work: a second move');

  const handBack = index('activity handBack');
  if (input.cover && handBack >= 0) {
    const returned = index('signal agentReturned');
    // The wait's timer fired after the cover's end was read: it ran until `until`.
    const coverRead = index('activity coverUntil');
    const fired = steps.findIndex((s, i) => i > coverRead && i < handBack && s.what === 'TIMER_FIRED');
    if (returned >= 0 && returned < handBack) out.add("cover ended by the agent's return");
    else if (fired >= 0) out.add('cover ended at until');
  }

  out.add(
    has('patch steps-end-before-compensation')
      ? 'steps wait for their cancellation (steps-end-before-compensation)'
      : 'steps cancelled by try-cancel (runs before steps-end-before-compensation)',
  );
  return out;
}

/**
 * What a fixture proves: the workflow, the kind, the branches taken and the patches met. Two
 * histories with one key replay the same code path, so the recorder keeps the first; exactly when
 * signals land is left out (it changes from run to run and proves nothing more).
 */
export function fixtureKey(history: History): string {
  const steps = stepsOf(history);
  const start = steps[0];
  const kind = ((start?.args[0] ?? {}) as HandoverArgs).kind ?? '';
  const patches = [...new Set(steps.filter((s) => s.what.startsWith('patch ')).map((s) => s.what))].sort();
  return [start?.what, kind, ...[...branchesOf(history)].sort(), ...patches].join(' | ');
}

/** Short words in a fixture's name for the branches that tell it from its siblings. */
const NAME_TAGS: Partial<Record<Branch, string>> = {
  'effectiveAt wait, then went on': 'effective-at',
  'effectiveAt wait, cancelled': 'effective-at',
  'blocked, bounded wait (bounded-blocked-wait)': 'blocked',
  'blocked, unbounded wait (runs before bounded-blocked-wait)': 'blocked',
  'blocked, escalated': 'escalated',
  'resumed after continue-as-new': 'resumed',
  'sweep found work: a second move': 'sweep',
  'cover ended at until': 'cover-until',
  "cover ended by the agent's return": 'cover-return',
  'cancelled while moving, every move reverted': 'mid-move',
  'failed: compensation could not finish': 'compensation-unfinished',
  'trash purge (runs before ledger-retention)': 'before-ledger-retention',
};

function nameOf(label: string, history: History, branches: Set<Branch>): string {
  const steps = stepsOf(history);
  const start = steps[0];
  const input = (start?.args[0] ?? {}) as HandoverArgs;
  const close = steps.at(-1)?.what ?? '';
  let what: string;
  let outcome: string;
  if (start?.what === 'start handoverWorkflow') {
    what = input.kind ?? 'handover';
    const outcomes: Array<[Branch, string]> = [
      ['completed', 'completed'],
      ['cancelled before anything moved', 'cancelled'],
      ['cancelled while moving, every move reverted', 'compensated'],
      ['failed after moves began, every move reverted', 'compensated'],
      ['failed before anything moved', 'failed'],
      ['failed: compensation could not finish', 'failed'],
      ['continued as new while blocked', 'continued'],
    ];
    outcome = outcomes.find(([b]) => branches.has(b))?.[1] ?? 'open';
  } else {
    // healHandoverWorkflow → heal-handover
    what = (start?.what ?? 'workflow')
      .replace(/^start /, '')
      .replace(/Workflow$/, '')
      .replace(/([a-z])([A-Z])/g, '$1-$2')
      .toLowerCase();
    outcome = close.replace(/^close /, '').toLowerCase();
  }
  const tags = [...new Set([...branches].flatMap((b) => NAME_TAGS[b] ?? []))];
  return [label, what, outcome, ...tags].join('-');
}

export async function fixtureFiles(): Promise<string[]> {
  return (await readdir(HISTORIES_DIR)).sort();
}

export async function readFixture(file: string): Promise<History> {
  return temporal.api.history.v1.History.decode(await readFile(new URL(file, HISTORIES_DIR)));
}

const CLOSED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'CONTINUED_AS_NEW']);

/**
 * `RECORD_HISTORIES=1 npx vitest run <test file>` (run from the environment's close): every
 * workflow run of this environment's task queue that ended on its own (every run of a chain that
 * continued as new, heals and digests too) is recorded if no fixture has its key yet (a new
 * branch, or a new patch). A new fixture never replaces an earlier one: running workflows may
 * still have that one's shape. Its name says what it covers and the day (and a counter if that
 * name is taken).
 */
export async function recordHistories(label: string, db: Db, client: Client, taskQueue: string): Promise<string[]> {
  // A settled row's workflow may still be mailing `finished`: a history fetched then would stop short.
  const settled = await db
    .selectFrom('handovers')
    .select('id')
    .where('status', 'in', ['completed', 'cancelled', 'compensated', 'failed'])
    .execute();
  const bounded = (p: Promise<unknown>) =>
    Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 30_000).unref())]);
  await Promise.all(settled.map((row) => bounded(client.workflow.getHandle(row.id).result())));
  const runs = [];
  for await (const run of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    // The list may lag behind a run that just closed; describe reads the run itself.
    const status = CLOSED.has(run.status.name)
      ? run.status.name
      : (await client.workflow.getHandle(run.workflowId, run.runId).describe()).status.name;
    if (CLOSED.has(status)) runs.push(run);
  }
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());

  const known = new Set<string>();
  for (const file of await fixtureFiles()) if (file.endsWith('.binpb')) known.add(fixtureKey(await readFixture(file)));
  const day = new Date().toISOString().slice(0, 10);
  const written: string[] = [];
  for (const run of runs) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const key = fixtureKey(history);
    if (known.has(key)) continue;
    known.add(key);
    // Binary protobuf: the SDK's JSON reader trips over the three copies of protobufjs npm installs here.
    const bytes = temporal.api.history.v1.History.encode(history).finish();
    const name = nameOf(label, history, branchesOf(history));
    let file = `${name}-${day}.binpb`;
    for (let n = 2; existsSync(new URL(file, HISTORIES_DIR)); n++) file = `${name}-${day}-${n}.binpb`;
    await writeFile(new URL(file, HISTORIES_DIR), bytes, { flag: 'wx' });
    written.push(file);
  }
  if (written.length > 0) console.log(`recorded histories: ${written.join(', ')}`);
  return written;
}
