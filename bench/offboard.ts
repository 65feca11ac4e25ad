/**
 * `npm run bench`: offboards an agent with N customers through the HTTP API with the real worker
 * (in its own process) on a Temporal dev server, and compares it with the floor — plain UPDATEs
 * reaching the same owners on an identical copy of the data. See the README's performance section.
 *   --customers N (100000) --records-per-customer R (3) --callbacks C (N/20) --api-load
 *   --cluster: on a real Temporal cluster on PostgreSQL (src/temporal/cluster.ts) instead of the dev server
 *   --office-closure K: then K agents of 100 customers each offboarded at once (bench/office-closure.ts);
 *     --customers defaults to K × 100 then, so the single handover moves as many customers;
 *     its JSON adds closureCpuSeconds, where the machine's CPU went meanwhile, by process, and
 *     temporalFloorSeconds, K handover-shaped workflows of no-op steps on the same server (bench/temporal-floor.ts)
 *   --workers W (1): worker processes on the task queue (the production shape runs several)
 *   --plan-cost M: only this: planning a 1,000- and a 100-customer book in an organisation of M customers
 * The JSON line of results is the last line of standard output; everything else goes to standard error.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/api/app';
import { loadConfig, POOL_SIZE } from '../src/config';
import { createDb, type Db } from '../src/db/connect';
import { migrateToLatest } from '../src/db/migrate';
import { freePortBase, startCluster } from '../src/temporal/cluster';
import { startDevServer } from '../src/temporal/dev-server';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../src/tracing';
import { historyLength, stepTimes, timeSplit } from './history';
import { cpuWindow, peakRss, round, sizes } from './measure';
import { type Call, CUSTOMERS_PER_AGENT, runClosure, seedClosure, startAtOnce, untilSettled } from './office-closure';
import { planCostBench } from './plan-cost';
import { seedLeaver, seedOffice } from './seed';
import { temporalFloor } from './temporal-floor';

const { values: opts } = parseArgs({
  options: {
    customers: { type: 'string' },
    'records-per-customer': { type: 'string', default: '3' },
    callbacks: { type: 'string' },
    'api-load': { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    'office-closure': { type: 'string' },
    'plan-cost': { type: 'string' },
    workers: { type: 'string', default: '1' },
  },
});
const K = opts['office-closure'] !== undefined ? Number(opts['office-closure']) : undefined;
const WORKERS = Number(opts.workers);
const N = Number(opts.customers ?? (K ? K * CUSTOMERS_PER_AGENT : 100_000));
const R = Number(opts['records-per-customer']);
const C = opts.callbacks !== undefined ? Number(opts.callbacks) : Math.floor(N / 20);
const ADMIN_TOKEN = 'bench-admin';
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbUrl = (name: string) => Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Before a timed run: a CHECKPOINT, so it does not pay for writing out what came before, and no
 * autovacuum worker busy with the previous run's dead rows (it would take one of the two cores).
 */
async function quiesce() {
  await admin('CHECKPOINT');
  for (let waited = 0; waited < 120_000; waited += 500) {
    const [busy] = await admin(
      "select count(*)::int as n from pg_stat_activity where backend_type = 'autovacuum worker'",
    );
    if (busy?.n === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One statement on the server's `postgres` database, on a connection of its own. */
async function admin(statement: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: dbUrl('postgres') });
  await client.connect();
  return (await client.query(statement).finally(() => client.end())).rows;
}

function bar(label: string, done: number, total: number) {
  const width = 30;
  const filled = total ? Math.min(width, Math.round((done / total) * width)) : 0;
  process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}   `);
}

const name = `handover_bench_${randomBytes(3).toString('hex')}`;
if (opts['plan-cost'] !== undefined) {
  const result = await planCostBench(
    {
      async create() {
        await admin(`CREATE DATABASE "${name}"`);
        const db = createDb(dbUrl(name), 2);
        await migrateToLatest(db);
        return db;
      },
      drop: async () => void (await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
    },
    Number(opts['plan-cost']),
    log,
  );
  console.log(JSON.stringify({ ...result, cores: availableParallelism() }));
  process.exit(0);
}
const floorName = `${name}_floor`;
const temporal = opts.cluster
  ? await startCluster({
      postgresUrl: dbUrl(''),
      database: `${name}_temporal`,
      visibilityDatabase: `${name}_temporal_visibility`,
      portBase: await freePortBase(),
      maxConnections: 6, // the PostgreSQL server is shared with everything else here
      log,
    })
  : await startDevServer({ log });
let workers: ChildProcess[] = [];
let db: Db | undefined;
try {
  // Seed the bench database.
  await admin(`CREATE DATABASE "${name}"`);
  db = createDb(dbUrl(name), 4);
  await migrateToLatest(db);
  log(
    `seeding ${N} customers × ${R} records, ${C} callbacks (twice: the move and the revert), and a 100-customer agent…`,
  );
  let seeded = Date.now();
  const big = await seedOffice(db, 'big');
  bar('seed', 0, 3);
  const bigLeaver = await seedLeaver(db, big.officeId, 'big', N, R, C);
  bar('seed', 1, 3);
  const rev = await seedOffice(db, 'revert');
  const revLeaver = await seedLeaver(db, rev.officeId, 'revert', N, R, C);
  bar('seed', 2, 3);
  const small = await seedOffice(db, 'small');
  const smallLeaver = await seedLeaver(db, small.officeId, 'small', 100, R, 5);
  bar('seed', 3, 3);
  const closure = K ? await seedClosure(db, K, R) : undefined;
  log(`\nseeded in ${((Date.now() - seeded) / 1000).toFixed(1)}s`);
  await db.destroy();

  // The floor, on an identical copy: one plain UPDATE per table reaching the same final owners.
  await admin(`CREATE DATABASE "${floorName}" TEMPLATE "${name}"`);
  await quiesce();
  const floorDb = createDb(dbUrl(floorName), 1);
  seeded = Date.now();
  await floorDb.transaction().execute(async (trx) => {
    await sql`update customers c set owner_id = (${big.pool}::text[])[((x.rn - 1) % 3) + 1], updated_at = now()
      from (select id, row_number() over (order by id) as rn from customers where owner_id = ${bigLeaver}) x
      where c.id = x.id`.execute(trx);
    await sql`update customer_records r set assignee_id = c.owner_id, updated_at = now() from customers c
      where c.id = r.customer_id and r.assignee_id = ${bigLeaver} and r.status = 'open'`.execute(trx);
    await sql`update callbacks cb set assignee_id = (${big.pool}::text[])[((x.rn - 1) % 3) + 1], updated_at = now()
      from (select id, row_number() over (order by id) as rn from callbacks where assignee_id = ${bigLeaver} and ends_at > now()) x
      where cb.id = x.id`.execute(trx);
  });
  const floorSeconds = (Date.now() - seeded) / 1000;
  await floorDb.destroy();

  // The real worker in its own process; the API in this one.
  const bundle = await bundleWorkflowCode({
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    workflowsPath: fileURLToPath(new URL('../src/workflows/index.ts', import.meta.url)),
    logger: { error: log, warn() {}, info() {}, debug() {}, trace() {}, log() {} },
  });
  const bundlePath = join(tmpdir(), `${name}-workflows.js`);
  await writeFile(bundlePath, bundle.code);
  const env = {
    DATABASE_URL: dbUrl(name),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'bench',
    ADMIN_TOKEN,
    WORKFLOW_BUNDLE_PATH: bundlePath,
  };
  workers = Array.from({ length: WORKERS }, () =>
    fork('bench/worker.ts', [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      // Its output goes to standard error: the results line stays the last line of standard output.
      stdio: ['ignore', process.stderr, process.stderr, 'ipc'],
    }),
  );
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
        }),
    ),
  );
  db = createDb(dbUrl(name), POOL_SIZE.api);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const config = loadConfig({ ...env, PORT: '0' });
  const app = await buildApp({ db, config, temporal: client, temporalReady: async () => true });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    // biome-ignore lint/suspicious/noExplicitAny: the bench reads a few fields of the API's answers
    const json: any = await res.json();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const offboard = (agentId: string, pool: string[]) =>
    call('POST', '/v1/handovers', { kind: 'offboard', agentId, to: { pool, strategy: 'round-robin' } });
  // biome-ignore lint/suspicious/noExplicitAny: see above
  async function until(id: string, done: (h: any) => boolean, label?: string) {
    for (;;) {
      const h = await call('GET', `/v1/handovers/${id}`);
      if (label) bar(label, h.progress.moved, h.progress.planned);
      if (done(h)) return h;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const finished = (h: { status: string }) => !['running', 'blocked'].includes(h.status);

  // The small one first: its history length is the yardstick.
  const smallRun = await offboard(smallLeaver, small.pool);
  await until(smallRun.id, finished);
  const historyEventsSmall = await historyLength(client, smallRun.id);

  // The preview of the big one: aggregates only, it writes nothing (median of 3, on a quiet database).
  await quiesce();
  const previewTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = Date.now();
    await call('POST', '/v1/handovers/preview', {
      kind: 'offboard',
      agentId: bigLeaver,
      to: { pool: big.pool, strategy: 'round-robin' },
    });
    previewTimes.push(Date.now() - t);
  }
  const previewMs = previewTimes.sort((a, b) => a - b)[1]!;

  // The big one.
  await quiesce();
  const sizesBefore = await sizes(db);
  const started = Date.now();
  const bigRun = await offboard(bigLeaver, big.pool);
  const bigDone = await until(bigRun.id, finished, 'move');
  const seconds = (Date.now() - started) / 1000;
  log('');
  if (bigDone.status !== 'completed') throw new Error(`the big offboard ended ${bigDone.status}: ${bigDone.error}`);
  const entities = bigDone.summary.customers + bigDone.summary.records + bigDone.summary.callbacks;
  const historyEvents = await historyLength(client, bigRun.id);
  const sizesAfter = await sizes(db);
  log(`steps (s): ${JSON.stringify(await stepTimes(client, bigRun.id))}`);

  // The revert: an identical handover cancelled halfway through its moves.
  await quiesce();
  const revRun = await offboard(revLeaver, rev.pool);
  await until(
    revRun.id,
    (h) => finished(h) || (h.progress.planned > 0 && h.progress.moved >= h.progress.planned / 2),
    'move',
  );
  const cancelled = Date.now();
  await call('POST', `/v1/handovers/${revRun.id}/cancel`);
  const revDone = await until(revRun.id, finished);
  const revertSeconds = (Date.now() - cancelled) / 1000;
  const { reverted } = (
    await sql<{
      reverted: number;
    }>`select count(reverted_at) as reverted from handover_moves where handover_id = ${revRun.id}`.execute(db)
  ).rows[0]!;
  log(
    `\nrevert: ${revDone.status}, ${reverted} entities reverted; steps (s): ${JSON.stringify(await stepTimes(client, revRun.id))}`,
  );

  const peakWorkerRssMb = Math.max(...workers.map((w) => peakRss(w.pid!)));

  let closed: Awaited<ReturnType<typeof runClosure>> | undefined;
  let closureCpuSeconds: Record<string, number> | undefined;
  let floor: Awaited<ReturnType<typeof temporalFloor>> | undefined;
  if (closure) {
    await quiesce();
    log(`office closure: ${closure.leavers.length} offboards of ${CUSTOMERS_PER_AGENT} customers at once…`);
    const cpu = cpuWindow({ workers: workers.map((w) => w.pid!), api: process.pid });
    closed = await runClosure(db, closure, call);
    closureCpuSeconds = cpu();
    log(`closure, CPU seconds by process (on ${availableParallelism()} cores): ${JSON.stringify(closureCpuSeconds)}`);
    log(
      `closure, where a handover's time went (10 of them): ${JSON.stringify(await timeSplit(client, closed.ids.slice(0, 10)))}`,
    );
    if (closed.invariantViolations.length > 0) log(`INVARIANTS BROKEN: ${closed.invariantViolations.join('; ')}`);
    await quiesce();
    floor = await temporalFloor(client, temporal.address, closure.leavers.length, log);
  }

  let apiLoad: Record<string, number> | undefined;
  if (opts['api-load']) {
    await quiesce();
    apiLoad = await runApiLoad(db, call);
  }

  await app.close();
  await connection.close();
  const result = {
    temporal: opts.cluster ? 'cluster' : 'dev-server',
    customers: N,
    entities,
    seconds: round(seconds),
    entitiesPerSecond: Math.round(entities / seconds),
    revertSeconds: round(revertSeconds),
    revertedEntities: Number(reverted),
    revertEntitiesPerSecond: Math.round(Number(reverted) / revertSeconds),
    historyEvents,
    historyEventsSmall,
    peakWorkerRssMb,
    previewMs,
    database: {
      tableMbBefore: sizesBefore.tableMb,
      tableMbAfter: sizesAfter.tableMb,
      indexMbBefore: sizesBefore.indexMb,
      indexMbAfter: sizesAfter.indexMb,
    },
    floorSeconds: round(floorSeconds),
    ratioToFloor: round(seconds / floorSeconds),
    ...(apiLoad ? { apiLoad } : {}),
    ...(closed
      ? {
          handovers: closed.handovers,
          completed: closed.completed,
          closureSeconds: round(closed.closureSeconds),
          singleSeconds: round(seconds),
          handoversPerSecond: round(closed.handovers / closed.closureSeconds),
          startP50Ms: closed.startP50Ms,
          startP99Ms: closed.startP99Ms,
          invariantViolations: closed.invariantViolations,
          closureCpuSeconds,
          temporalFloorSeconds: floor && {
            activities: round(floor.activities),
            localActivities: round(floor.localActivities),
          },
        }
      : {}),
    workers: WORKERS,
    cores: availableParallelism(),
  };
  console.log(`
| measure | value |
|---|---|
| customers / entities moved | ${N} / ${entities} |
| end to end (POST → completed) | ${result.seconds} s (${result.entitiesPerSecond} entities/s) |
| preview of the same book (median of 3) | ${previewMs} ms |
| floor (plain UPDATEs, same data) | ${result.floorSeconds} s (ratio ${result.ratioToFloor}) |
| revert of ${reverted} entities | ${result.revertSeconds} s (${result.revertEntitiesPerSecond} entities/s) |
| history events (N=${N} / N=100) | ${historyEvents} / ${historyEventsSmall} |
| peak worker RSS | ${peakWorkerRssMb} MB |
| tables / indexes before → after the big move | ${result.database.tableMbBefore} → ${result.database.tableMbAfter} MB / ${result.database.indexMbBefore} → ${result.database.indexMbAfter} MB |${
    apiLoad
      ? `\n| 200 concurrent POSTs: p50 / p99 | ${apiLoad.p50Ms} ms / ${apiLoad.p99Ms} ms |\n| until all 200 completed | ${apiLoad.allCompletedSeconds} s |`
      : ''
  }${
    closed
      ? `\n| office closure: ${closed.handovers} offboards at once | ${result.closureSeconds} s (single: ${result.singleSeconds} s), ${closed.completed} completed |\n| starts: p50 / p99 | ${closed.startP50Ms} ms / ${closed.startP99Ms} ms |`
      : ''
  }`);
  console.log(JSON.stringify(result));
} finally {
  for (const worker of workers) worker.kill('SIGTERM');
  await db?.destroy().catch(() => undefined);
  await temporal.stop();
  await admin(`DROP DATABASE IF EXISTS "${floorName}" WITH (FORCE)`).catch(() => undefined);
  await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
  if (opts.cluster) {
    for (const db of [`${name}_temporal`, `${name}_temporal_visibility`]) {
      await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
    }
  }
}

/** 200 small agents offboarded at once: latency of each POST, and time until all are done. */
async function runApiLoad(db: Db, call: Call) {
  const office = await seedOffice(db, 'load');
  const agents: string[] = [];
  for (let i = 0; i < 200; i++) agents.push(await seedLeaver(db, office.officeId, `load${i}`, 5, 1, 0));
  const started = Date.now();
  const { ids, startP50Ms, startP99Ms } = await startAtOnce(call, agents, office.pool);
  await untilSettled(db, ids);
  return { p50Ms: startP50Ms, p99Ms: startP99Ms, allCompletedSeconds: round((Date.now() - started) / 1000) };
}
