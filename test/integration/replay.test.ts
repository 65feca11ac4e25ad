/**
 * Determinism guard: histories of finished workflows (every handover kind and outcome, every wait,
 * continued runs, heals and digests) recorded from earlier code are replayed against today's
 * workflow code, so a change that would break workflows running in production fails CI. When a
 * change is meant to alter the workflow's commands, guard it with `patched('name')` (keep the old
 * path when it returns false), then re-record with `RECORD_HISTORIES=1 npx vitest run
 * test/integration/replay-recordings.test.ts` (or any test file) and commit the new fixtures beside
 * the old ones (keep those until no workflow of that shape runs anywhere).
 */
import { Worker } from '@temporalio/worker';
import { expect, test } from 'vitest';
import { workerTracing } from '../../src/tracing';
import { BRANCHES, type Branch, branchesOf, fixtureFiles, readFixture } from '../helpers/histories';
import { workflowBundle } from '../helpers/temporal';

/**
 * Which fixtures take each branch (the replay proves something only for the branches its fixtures
 * take): each one named is checked to take its branch, so a branch whose fixture is missing,
 * renamed or no longer takes it fails here. Where old and today's code differ, one of each.
 */
const COVERAGE: Record<Branch, string[]> = {
  completed: ['offboard-offboard-completed.binpb', 'hr-events-offboard-completed.binpb'],
  'cancelled before anything moved': ['transfer-transfer-cancelled.binpb', 'hr-events-offboard-cancelled.binpb'],
  'cancelled while moving, every move reverted': ['replay-offboard-compensated-mid-move-2026-12-04.binpb'],
  'failed after moves began, every move reverted': ['compensation-offboard-compensated.binpb'],
  'failed before anything moved': ['replay-offboard-failed-blocked-escalated-2026-12-04.binpb'],
  'failed: compensation could not finish': ['replay-offboard-failed-compensation-unfinished-2026-12-04.binpb'],
  'cancel requested while a step ran': [
    'transfer-transfer-cancelled.binpb',
    'replay-offboard-compensated-mid-move-2026-12-04.binpb',
  ],
  'effectiveAt wait, then went on': ['replay-offboard-completed-effective-at-2026-12-04.binpb'],
  'effectiveAt wait, cancelled': ['hr-events-offboard-cancelled.binpb'],
  'blocked, unbounded wait (runs before bounded-blocked-wait)': ['blocked-offboard-completed.binpb'],
  'blocked, bounded wait (bounded-blocked-wait)': ['replay-offboard-failed-blocked-escalated-2026-12-04.binpb'],
  'blocked, escalated': [
    'blocked-offboard-cancelled.binpb',
    'replay-offboard-failed-blocked-escalated-2026-12-04.binpb',
  ],
  'blocked, woken by a recheck signal': [
    'transfer-transfer-completed.binpb',
    'replay-offboard-failed-blocked-escalated-2026-12-04.binpb',
  ],
  'continued as new while blocked': ['replay-offboard-continued-blocked-2026-12-04.binpb'],
  'resumed after continue-as-new': [
    'blocked_weeks-offboard-completed.binpb',
    'blocked_weeks-offboard-cancelled.binpb',
    'replay-offboard-completed-resumed-blocked-2026-12-04.binpb',
  ],
  'cover ended at until': ['replay-reassign-callbacks-completed-cover-until-2026-12-04.binpb'],
  "cover ended by the agent's return": ['hr-events-reassign-callbacks-completed.binpb'],
  'sweep found work: a second move': ['replay-reassign-customers-completed-sweep-2026-12-04.binpb'],
  'steps cancelled by try-cancel (runs before steps-end-before-compensation)': ['transfer-transfer-cancelled.binpb'],
  'steps wait for their cancellation (steps-end-before-compensation)': [
    'replay-offboard-compensated-mid-move-2026-12-04.binpb',
  ],
  heal: ['replay-heal-handover-completed-2026-12-04.binpb'],
  'integrity digest': ['replay-integrity-digest-completed-2026-12-04.binpb'],
  // Recorded from the code of 7c2c010^ (before ledger-retention): a purge in flight when that was deployed.
  'trash purge (runs before ledger-retention)': [
    'replay-trash-purge-completed-before-ledger-retention-2026-12-04.binpb',
  ],
  'trash purge, then ledger retention (ledger-retention)': ['replay-trash-purge-completed-2026-12-04.binpb'],
};

/** As many as are committed today: fewer means fixtures went missing. */
const AT_LEAST = 30;

test('recorded histories replay against the current workflow code', async () => {
  const files = await fixtureFiles();
  // Every file in the folder is a fixture: one in another format would be skipped without a word.
  expect(files.filter((f) => !f.endsWith('.binpb'))).toEqual([]);
  expect(files.length).toBeGreaterThanOrEqual(AT_LEAST);
  async function* histories() {
    for (const file of files) yield { workflowId: file, history: await readFixture(file) };
  }
  const replayed: string[] = [];
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: await workflowBundle(), sinks: workerTracing(undefined).sinks },
    histories(),
  )) {
    replayed.push(result.workflowId);
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed.sort()).toEqual(files);
});

test('every branch has a fixture that takes it', async () => {
  const files = new Set(await fixtureFiles());
  const taken = new Map<string, Set<Branch>>();
  const missing: string[] = [];
  for (const branch of BRANCHES) {
    if (COVERAGE[branch].length === 0) missing.push(`${branch}: no fixture named`);
    for (const file of COVERAGE[branch]) {
      if (!files.has(file)) {
        missing.push(`${branch}: no fixture ${file}`);
        continue;
      }
      if (!taken.has(file)) taken.set(file, branchesOf(await readFixture(file)));
      if (!taken.get(file)?.has(branch)) missing.push(`${branch}: ${file} does not take it`);
    }
  }
  expect(missing).toEqual([]);
});
