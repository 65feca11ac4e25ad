// `npm run build`: the production build in dist/, run with plain `node` (no tsx, no webpack at start).
//   dist/main.js, worker.js, api.js, migrate.js, handover-cli.js — each entry point in one ES module
//     file (esbuild; packages stay in node_modules);
//   dist/workflow-bundle.js — the workflow code bundled once by the Temporal SDK, which the worker
//     loads (`workflowBundle`) instead of bundling at every start;
//   dist/console/ — the console's page, script and style, which the compiled API serves as they are.
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { build } from 'esbuild';
import { CONSOLE_BUILD, CONSOLE_INDEX } from '../src/api/console-assets';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../src/tracing';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const started = Date.now();

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  entryPoints: {
    main: 'src/main.ts',
    worker: 'src/worker/main.ts',
    api: 'src/api/main.ts',
    migrate: 'src/db/migrate-cli.ts',
    'handover-cli': 'src/cli/main.ts',
  },
  absWorkingDir: root,
  outdir: dist,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
const { code } = await bundleWorkflowCode({
  workflowsPath: join(root, 'src/workflows/index.ts'),
  workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
  logger: { error: console.error, warn() {}, info() {}, debug() {}, trace() {}, log() {} },
});
await writeFile(join(dist, 'workflow-bundle.js'), code);
await build({ ...CONSOLE_BUILD, outdir: join(dist, 'console') });
await copyFile(CONSOLE_INDEX, join(dist, 'console/index.html'));
const consoleKb = (await stat(join(dist, 'console/app.js'))).size / 1024;
console.log(`console: dist/console/app.js ${consoleKb.toFixed(1)} KB (minified)`);
console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
