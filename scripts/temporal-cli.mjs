#!/usr/bin/env node
// Resolves the `temporal` CLI binary (DESIGN.md, "The Temporal server here"):
//   1. $TEMPORAL_CLI_PATH  2. `temporal` on PATH  3. .tools/bin/temporal
//   4. built once with `go install` into .tools/bin when Go is installed
//   5. otherwise undefined: the caller falls back to the SDK's own download.
// Run directly (`npm run temporal-cli`) it prints the path, building it if needed.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const LOCAL_CLI = join(projectRoot, '.tools', 'bin', 'temporal');

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** @returns {string | undefined} the path of a usable `temporal` binary. */
export function resolveTemporalCli({ build = true, log = console.error } = {}) {
  if (process.env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(process.env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH=${process.env.TEMPORAL_CLI_PATH} is not an executable file`);
    }
    return process.env.TEMPORAL_CLI_PATH;
  }
  const found = onPath('temporal') ?? (isExecutable(LOCAL_CLI) ? LOCAL_CLI : undefined);
  if (found || !build) return found;
  const go = onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    log('temporal CLI not found and Go is not installed: falling back to the SDK download');
    return undefined;
  }
  log(`building the Temporal CLI once: go install ${TEMPORAL_CLI_MODULE} (a few minutes on a fresh machine)`);
  mkdirSync(dirname(LOCAL_CLI), { recursive: true });
  const started = Date.now();
  const result = spawnSync(go, ['install', TEMPORAL_CLI_MODULE], {
    env: { ...process.env, GOBIN: dirname(LOCAL_CLI) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !isExecutable(LOCAL_CLI)) {
    throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${result.status}); set TEMPORAL_CLI_PATH instead`);
  }
  log(`built ${LOCAL_CLI} in ${Math.round((Date.now() - started) / 1000)}s`);
  return LOCAL_CLI;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = resolveTemporalCli();
  if (path) {
    console.log(path);
    console.log(execFileSync(path, ['--version'], { encoding: 'utf8' }).trim());
  }
}
