import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';
import { SEARCH_ATTRIBUTE_NAMES } from './search-attributes';

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  namespace: string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Preferred ports; a taken port is replaced by a free one. */
  port?: number;
  uiPort?: number;
  ui?: boolean;
  /** SQLite file to persist to; in memory when unset. */
  dbFilename?: string;
  namespace?: string;
  log?: (line: string) => void;
}

/** A free loopback port: `preferred` if it is free, else one the kernel picks. */
export async function freePort(preferred = 0): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  return (preferred ? await tryListen(preferred) : undefined) ?? (await tryListen(0)) ?? 0;
}

/** Starts `temporal server start-dev` with our search attributes registered, and waits until it answers. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cli = resolveTemporalCli({ log: options.log });
  if (!cli) throw new Error('no temporal CLI: set TEMPORAL_CLI_PATH, install Go, or put `temporal` on PATH');
  const namespace = options.namespace ?? 'default';
  const port = await freePort(options.port ?? 0);
  const ui = options.ui ?? false;
  const uiPort = ui ? await freePort(options.uiPort ?? 0) : undefined;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace];
  args.push('--log-level', 'error', '--log-format', 'json');
  for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  if (ui && uiPort) args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
  else args.push('--headless');

  const child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${port}`;
  await waitUntilServing(address, namespace, child, () => stderr);
  return {
    address,
    namespace,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    stop: () => stopChild(child),
  };
}

async function waitUntilServing(
  address: string,
  namespace: string,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited (${child.exitCode}): ${stderr()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`temporal dev server on ${address} did not answer within 60s: ${stderr()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
