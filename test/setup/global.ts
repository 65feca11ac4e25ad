/**
 * One Temporal dev server (with our search attributes) and one workflow bundle for the whole run;
 * each test file attaches to them and brings its own PostgreSQL database.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../src/tracing';
import 'vitest';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../src/temporal/dev-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    workflowBundlePath: string;
    /** One fast-check seed for the run (FC_SEED replays one a CI run printed). */
    fcSeed: number;
  }
}

export default async function setup(project: TestProject) {
  // Before anything starts: a bad FC_SEED fails the run at once.
  const fcSeed = seedFromEnv(process.env.FC_SEED) ?? Math.floor(Math.random() * 2 ** 31);
  const dir = await mkdtemp(join(tmpdir(), 'handover-test-'));
  const [server, bundle] = await Promise.all([
    startDevServer({ ui: true, log: (line) => console.log(line) }),
    bundleWorkflowCode({
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
      logger: { error: console.error, warn() {}, info() {}, debug() {}, trace() {}, log() {} },
    }),
  ]);
  const workflowBundlePath = join(dir, 'workflows.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiUrl', server.uiUrl ?? '');
  project.provide('workflowBundlePath', workflowBundlePath);
  console.log(`property tests: fast-check seed ${fcSeed} (replay with FC_SEED=${fcSeed} npm test)`);
  project.provide('fcSeed', fcSeed);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

/** FC_SEED as fast-check takes it (a 32-bit integer); anything else would silently draw another run. */
function seedFromEnv(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const seed = Number(text);
  if (!Number.isInteger(seed) || Math.abs(seed) > 2 ** 31) {
    throw new Error(`FC_SEED must be the integer a run printed, not ${JSON.stringify(text)}`);
  }
  return seed;
}
