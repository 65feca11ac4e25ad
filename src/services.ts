/** The pieces `npm start`, `npm run worker` and `npm run api` are made of. */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { type App, buildApp } from './api/app';
import { READY_TIMEOUT_MS } from './api/routes/health';
import type { Config } from './config';
import type { Db } from './db/connect';
import { createMailer } from './mail/transport';
import { clientTracing, tracingFromEnv } from './tracing';
import { ensureSchedules } from './worker/schedules';
import { createHandoverWorker } from './worker/worker';

export interface Running {
  stop(): Promise<void>;
}

/**
 * How to reach Temporal: plain for the dev server; mTLS (TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY,
 * file paths) or an API key (TEMPORAL_API_KEY) for Temporal Cloud and other secured clusters.
 */
export function temporalConnectionOptions(address: string, env: NodeJS.ProcessEnv = process.env) {
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  const tls =
    cert && key ? { clientCertPair: { crt: readFileSync(cert), key: readFileSync(key) } } : apiKey ? true : undefined;
  return { address, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}

export async function runWorker(config: Config, db: Db, address: string): Promise<Running> {
  const connection = await NativeConnection.connect(temporalConnectionOptions(address));
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: config.mailOutboxDir });
  // A prebuilt bundle spares the worker webpack's time and memory at start: WORKFLOW_BUNDLE_PATH, or
  // the one `npm run build` put beside the compiled code (dist/workflow-bundle.js).
  const beside = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));
  const bundlePath = process.env.WORKFLOW_BUNDLE_PATH || (existsSync(beside) ? beside : undefined);
  const workflowBundle = bundlePath ? { code: await readFile(bundlePath, 'utf8') } : undefined;
  const tracing = tracingFromEnv('handover-worker');
  const worker = await createHandoverWorker({ connection, db, mailer, config, workflowBundle, tracing });
  // The daily trash purge and integrity digest (created once; left alone when they exist).
  const clientConnection = await Connection.connect(temporalConnectionOptions(address));
  await ensureSchedules(new Client({ connection: clientConnection, namespace: config.temporalNamespace }), config);
  await clientConnection.close();
  const running = worker.run();
  console.log(`workflow code: ${bundlePath ? `the prebuilt bundle ${bundlePath}` : 'bundled at start (webpack)'}`);
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      mailer.close();
      await connection.close();
      await tracing?.shutdown();
    },
  };
}

export async function runApi(config: Config, db: Db, address: string): Promise<Running & { app: App; url: string }> {
  const connection = await Connection.connect(temporalConnectionOptions(address));
  const tracing = tracingFromEnv('handover-api');
  const temporal = new Client({
    connection,
    namespace: config.temporalNamespace,
    interceptors: { workflow: clientTracing(tracing) },
  });
  // Bounded like the route's wait (READY_TIMEOUT_MS), so a probe's call never lingers in the client's retries.
  const temporalReady = async () => {
    await connection.withDeadline(Date.now() + READY_TIMEOUT_MS, () => connection.workflowService.getSystemInfo({}));
    return true;
  };
  const app = await buildApp({ db, config, temporal, temporalReady }, { logger: true });
  await app.listen({ port: config.port, host: process.env.HOST ?? '127.0.0.1' });
  const { port } = app.server.address() as import('node:net').AddressInfo; // PORT=0 picks a free one
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await app.close();
      await connection.close();
      await tracing?.shutdown();
    },
  };
}

/** Stops everything once on SIGINT/SIGTERM, last started first. */
export function stopOnSignals(parts: Array<() => Promise<void>>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down…`);
    for (const part of [...parts].reverse()) {
      await part().catch((err) => console.error('while stopping:', err));
    }
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
