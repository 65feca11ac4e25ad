/**
 * Determinism guard: histories of finished handovers (blocked, cancelled, compensated and
 * completed runs, every kind) recorded from earlier code are replayed against today's workflow
 * code, so a change that would break handovers running in production fails CI. When a change is
 * meant to alter the workflow's commands, guard it with `patched('name')` (keep the old path when
 * it returns false), then re-record with `RECORD_HISTORIES=1 npx vitest run test/integration` and
 * commit the new fixtures beside the old ones (keep those until no such handover runs anywhere).
 */
import { readdir, readFile } from 'node:fs/promises';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { expect, test } from 'vitest';
import { workerTracing } from '../../src/tracing';
import { workflowBundle } from '../helpers/temporal';

const dir = new URL('../fixtures/histories/', import.meta.url);

test('recorded handover histories replay against the current workflow code', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.binpb')).sort();
  expect(files.length).toBeGreaterThanOrEqual(8);
  async function* histories() {
    for (const file of files) {
      yield { workflowId: file, history: temporal.api.history.v1.History.decode(await readFile(new URL(file, dir))) };
    }
  }
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: await workflowBundle(), sinks: workerTracing(undefined).sinks },
    histories(),
  )) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});
