/** Service processes for tests that need the real thing (a compiled build, a cluster, a kill -9). */
import { type ChildProcess, spawn } from 'node:child_process';
import { ADMIN_TOKEN } from './api';

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in its output (waiting for it). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL: no shutdown; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const running = new Set<ServiceProcess>();

export function spawnService(command: string, args: string[], env: Record<string, string>): ServiceProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return gone;
  };
  const service: ServiceProcess = {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = output.match(pattern);
          if (!m) return;
          done();
          resolve(m);
        };
        const exited = () => {
          done();
          reject(new Error(`${command} ${args.join(' ')} exited before printing ${pattern}:\n${output}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${command} ${args.join(' ')} did not print ${pattern} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', exited);
        };
        listeners.add(check);
        child.once('exit', exited);
        check();
      });
    },
    async kill() {
      await signal('SIGKILL');
      running.delete(service);
    },
    async stop() {
      const timer = setTimeout(() => void signal('SIGKILL'), 10_000);
      await signal('SIGTERM');
      clearTimeout(timer);
      running.delete(service);
    },
  };
  running.add(service);
  return service;
}

/** Kills every service process a test file started and did not stop (afterAll). */
export async function killAllServices(): Promise<void> {
  await Promise.all([...running].map((s) => s.kill()));
}

/** `POST /v1/handovers` to an API process, as the organisation admin; answers status and body. */
export async function postHandover(apiUrl: string, body: unknown, idempotencyKey?: string, token = ADMIN_TOKEN) {
  const response = await fetch(`${apiUrl}/v1/handovers`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { id: string } };
}
