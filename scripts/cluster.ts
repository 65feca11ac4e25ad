/**
 * `npm run cluster`: the production shape on this machine. A Temporal cluster on PostgreSQL (four
 * server processes with deploy/temporal/'s configuration) and its Web UI, two worker processes and
 * two API instances on two ports, all against the same database; mail goes to SMTP_URL, else to
 * the outbox folder. Prints every URL; Ctrl-C stops it all. `npm start` is the one-process
 * version for trying the service; this is for trying how it runs in production.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ensureDatabase } from '../src/db/ensure-database';
import { freePortBase, startCluster } from '../src/temporal/cluster';
import { freePort } from '../src/temporal/dev-server';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/handover';
const postgresUrl = Object.assign(new URL(databaseUrl), { pathname: '/' }).toString();
const adminToken = process.env.ADMIN_TOKEN ?? `dev-${randomBytes(12).toString('hex')}`;
const log = (line: string) => console.log(line);

await ensureDatabase(databaseUrl);
const temporal = await startCluster({
  postgresUrl,
  portBase: await freePortBase(7233),
  maxConnections: 6, // one machine: PostgreSQL is shared with the workers and APIs
  uiPort: await freePort(8233),
  log,
});
const children: ChildProcess[] = [];
const common = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  TEMPORAL_ADDRESS: temporal.address,
  TEMPORAL_UI_URL: temporal.uiUrl ?? '',
  ADMIN_TOKEN: adminToken,
};

/** Starts one of the service's processes; resolves with the first match of `ready` in its output. */
function run(name: string, entry: string, env: Record<string, string>, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...common, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) console.log(`[${name}] ${line}`);
      output += chunk;
      const m = output.match(ready);
      if (m) resolve(m[1] ?? m[0]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
  });
}

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the APIs, the workers and the cluster…`);
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await temporal.stop();
  process.exit(0);
}
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));

try {
  const metricsPorts = [await freePort(9464), await freePort(9465)];
  const workerMetrics = await Promise.all(
    metricsPorts.map((port, i) =>
      run(
        `worker ${i + 1}`,
        'src/worker/main.ts',
        { WORKER_METRICS_ADDRESS: `127.0.0.1:${port}` },
        /worker metrics: (\S+)/,
      ),
    ),
  );
  const apiPorts = [await freePort(3000), await freePort(3001)];
  const apis = await Promise.all(
    apiPorts.map((port, i) => run(`api ${i + 1}`, 'src/api/main.ts', { PORT: String(port) }, /API listening on (\S+)/)),
  );
  console.log(`
  APIs         ${apis.join('  ')}   (put a load balancer in front in production)
  API docs     ${apis[0]}/docs
  Temporal UI  ${temporal.uiUrl}
  Temporal     ${temporal.address} (frontend; history, matching and worker services beside it), on PostgreSQL
  Metrics      ${apis.map((a) => `${a}/metrics`).join('  ')}  ${workerMetrics.join('  ')}
  Mail         ${process.env.SMTP_URL ? 'SMTP_URL' : 'files in the outbox folder (set SMTP_URL to send)'}
  Admin token  ${adminToken}
Ctrl-C stops everything.`);
} catch (err) {
  console.error(err);
  await stop('error');
}
