/**
 * A real Temporal cluster on this machine, the production shape: the server's four services
 * (frontend, history, matching, worker) as separate processes persisting to PostgreSQL, with the
 * configuration of deploy/temporal/ (the same files docker-compose.yml uses), and the Web UI.
 * Binaries are built once with `go install` at pinned versions into .tools/cluster/.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto'; // CommonJS: named exports are not visible to Node's ESM loader
import pg from 'pg';
import { freePort } from './dev-server';
import { SEARCH_ATTRIBUTE_NAMES } from './search-attributes';

export const SERVER_VERSION = 'v1.29.1';
export const UI_VERSION = 'v2.42.1';
const MODULES = {
  server: `go.temporal.io/server/cmd/server@${SERVER_VERSION}`,
  sql: `go.temporal.io/server/cmd/tools/sql@${SERVER_VERSION}`,
  ui: `github.com/temporalio/ui-server/v2/cmd/server@${UI_VERSION}`,
} as const;
const BINARY_NAMES = { server: 'server', sql: 'sql', ui: 'server' } as const;
type Binary = keyof typeof MODULES;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOY_DIR = join(root, 'deploy', 'temporal');
const TOOLS_DIR = join(root, '.tools', 'cluster');

export const SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
/** The ports a cluster takes, as offsets from its base (deploy/temporal/config/production.yaml). */
const PORT_OFFSETS = [0, 1, 2, 6, 10, 100, 101, 102, 106];

/** A base port whose cluster ports are all free (`preferred` when it is). */
export async function freePortBase(preferred = 7233): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = attempt === 0 ? preferred : 20_000 + Math.floor(Math.random() * 20_000);
    const free = await Promise.all(PORT_OFFSETS.map(async (o) => (await freePort(base + o)) === base + o));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free block of ports for a Temporal cluster');
}
export type ServiceName = (typeof SERVICES)[number];

export interface ClusterOptions {
  /** PostgreSQL server to persist to, e.g. postgres://postgres@127.0.0.1:5432 (no database). */
  postgresUrl: string;
  /** Databases of the cluster (created, schema set up or updated). */
  database?: string;
  visibilityDatabase?: string;
  /** The frontend's gRPC port; the other services use ports next to it (deploy/temporal/config). */
  portBase?: number;
  /**
   * Connections each of the four services may open to the main store (the visibility store gets
   * half): 20 by default; on one machine keep 4 × (n + n/2) well under PostgreSQL's max_connections.
   */
  maxConnections?: number;
  /** The Web UI's port; none when unset. */
  uiPort?: number;
  log?: (line: string) => void;
}

export interface TemporalCluster {
  address: string;
  uiUrl: string | undefined;
  /** SIGKILLs one service (no shutdown), as a crash would. */
  kill(service: ServiceName): Promise<void>;
  /** Starts a killed (or running: it is killed first) service again. */
  restart(service: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The path of a cluster binary, built with `go install` into .tools/cluster/<name>/ if missing. */
export function clusterBinary(name: Binary, log: (line: string) => void = console.error): string {
  const dir = join(TOOLS_DIR, name);
  const path = join(dir, BINARY_NAMES[name]);
  if (isExecutable(path)) return path;
  const go = isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
  log(`building ${MODULES[name]} once with go install (a few minutes on a fresh machine)…`);
  mkdirSync(dir, { recursive: true });
  const built = spawnSync(go, ['install', MODULES[name]], { env: { ...process.env, GOBIN: dir }, stdio: 'inherit' });
  if (built.status !== 0 || !isExecutable(path))
    throw new Error(`go install ${MODULES[name]} failed (${built.status})`);
  return path;
}

/** The PostgreSQL schema files shipped in the server's Go module (downloaded by the build above). */
function schemaDir(): string {
  const gomodcache = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim();
  return join(gomodcache, `go.temporal.io/server@${SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
}

/** Creates the two databases if needed and brings their schema to the server's version (idempotent). */
export async function setupSchema(options: ClusterOptions): Promise<void> {
  const sqlTool = clusterBinary('sql', options.log);
  const url = new URL(options.postgresUrl);
  const admin = new pg.Client({ connectionString: options.postgresUrl });
  await admin.connect();
  try {
    for (const [db, dir] of [
      [options.database ?? 'temporal', 'temporal'],
      [options.visibilityDatabase ?? 'temporal_visibility', 'visibility'],
    ] as const) {
      const exists = await admin.query('select 1 from pg_database where datname = $1', [db]);
      const args = ['--plugin', 'postgres12', '--ep', url.hostname, '-p', url.port || '5432'];
      args.push('-u', decodeURIComponent(url.username || 'postgres'), '--db', db);
      if (url.password) args.push('--pw', decodeURIComponent(url.password));
      const run = (...command: string[]) => {
        const done = spawnSync(sqlTool, [...args, ...command], { encoding: 'utf8' });
        if (done.status !== 0)
          throw new Error(`temporal sql tool ${command.join(' ')} on ${db} failed: ${done.stderr}`);
      };
      if (exists.rowCount === 0) {
        run('create-database');
        run('setup-schema', '-v', '0.0');
      }
      run('update-schema', '-d', join(schemaDir(), dir, 'versioned'));
    }
  } finally {
    await admin.end();
  }
}

/** Sets the schema up, starts the four services and the UI, registers the namespace and search attributes. */
export async function startCluster(options: ClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? (() => undefined);
  await setupSchema(options);
  const server = clusterBinary('server', log);
  const portBase = options.portBase ?? 7233;
  const url = new URL(options.postgresUrl);
  const env = {
    ...process.env,
    TEMPORAL_PORT_BASE: String(portBase),
    TEMPORAL_DB: options.database ?? 'temporal',
    TEMPORAL_VISIBILITY_DB: options.visibilityDatabase ?? 'temporal_visibility',
    TEMPORAL_DB_HOST: url.hostname,
    TEMPORAL_DB_PORT: url.port || '5432',
    TEMPORAL_DB_USER: decodeURIComponent(url.username || 'postgres'),
    TEMPORAL_DB_PASSWORD: decodeURIComponent(url.password),
    TEMPORAL_DB_MAX_CONNS: String(options.maxConnections ?? 20),
    TEMPORAL_VISIBILITY_DB_MAX_CONNS: String(Math.max(2, Math.floor((options.maxConnections ?? 20) / 2))),
  };
  const children = new Map<ServiceName | 'ui', ChildProcess>();
  const tails = new Map<string, string>();
  const launch = (name: ServiceName | 'ui') => {
    const child =
      name === 'ui'
        ? spawn(clusterBinary('ui', log), ['--root', DEPLOY_DIR, '--config', 'ui', '--env', 'production', 'start'], {
            env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${portBase}`, TEMPORAL_UI_PORT: String(options.uiPort) },
            stdio: ['ignore', 'ignore', 'pipe'],
          })
        : spawn(server, ['--root', '.', '--config', 'config', '--env', 'production', 'start', '--service', name], {
            cwd: DEPLOY_DIR,
            env,
            stdio: ['ignore', 'ignore', 'pipe'],
          });
    child.stderr?.on('data', (chunk: Buffer) => tails.set(name, ((tails.get(name) ?? '') + chunk).slice(-4000)));
    children.set(name, child);
  };
  const killChild = (child: ChildProcess | undefined, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  const stop = async () => {
    for (const name of ['ui', ...[...SERVICES].reverse()] as const) {
      const child = children.get(name);
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await killChild(child, 'SIGTERM');
      clearTimeout(timer);
    }
  };

  // In order: history first writes the cluster metadata on a fresh database (services starting
  // at once race for it); the worker service exits when it finds no frontend to talk to.
  const address = `127.0.0.1:${portBase}`;
  const why = () => [...tails].map(([n, t]) => `${n}: ${t}`).join('\n');
  try {
    launch('history');
    await clusterMetadataWritten(options.postgresUrl, env.TEMPORAL_DB, why);
    launch('matching');
    launch('frontend');
    await registerNamespace(address, 'default', why);
    launch('worker');
  } catch (err) {
    await stop();
    throw err;
  }
  if (options.uiPort) {
    launch('ui');
    await waitForUi(`http://127.0.0.1:${options.uiPort}`, why);
  }
  log(
    `Temporal cluster on ${address} (${SERVICES.join(', ')}), persisting to ${env.TEMPORAL_DB} and ${env.TEMPORAL_VISIBILITY_DB}`,
  );
  return {
    address,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined,
    kill: (service) => killChild(children.get(service), 'SIGKILL'),
    async restart(service) {
      await killChild(children.get(service), 'SIGKILL');
      launch(service);
    },
    stop,
  };
}

async function waitForUi(url: string, why: () => string) {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if ((await fetch(url).catch(() => undefined))?.ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal Web UI on ${url} did not answer within 30 s:\n${why()}`);
}

async function clusterMetadataWritten(postgresUrl: string, database: string, why: () => string) {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url.toString() });
    try {
      await client.connect();
      const { rowCount } = await client.query('select 1 from cluster_metadata_info limit 1');
      if (rowCount) return;
    } catch {
      // not yet
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the history service wrote no cluster metadata within 60 s:\n${why()}`);
}

/**
 * Waits for the frontend, registers `namespace` (a cluster has none until someone does) and the
 * service's search attributes, and waits until the namespace answers: it reaches every service's
 * cache within seconds.
 */
async function registerNamespace(address: string, namespace: string, tails: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await connection.workflowService
          .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') })
          .catch((err: { code?: number }) => {
            if (err.code !== 6) throw err; // ALREADY_EXISTS
          });
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = SEARCH_ATTRIBUTE_NAMES.filter((name) => !customAttributes?.[name]);
        if (missing.length > 0) {
          await connection.operatorService.addSearchAttributes({
            namespace,
            searchAttributes: Object.fromEntries(
              missing.map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
            ),
          });
        }
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(
    `the Temporal cluster on ${address} did not come up within 120 s (${String(lastError)}):\n${tails()}`,
  );
}
