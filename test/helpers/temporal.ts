import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';

export const temporalAddress = () => inject('temporalAddress');

/** The workflow bundle built once by the global setup. */
export async function workflowBundle() {
  return { code: await readFile(inject('workflowBundlePath'), 'utf8') };
}

export async function connectTemporal() {
  const address = temporalAddress();
  const [connection, nativeConnection] = await Promise.all([
    Connection.connect({ address }),
    NativeConnection.connect({ address }),
  ]);
  const client = new Client({ connection, namespace: 'default' });
  return {
    client,
    nativeConnection,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** A task queue of the test's own, so test files sharing the dev server never steal each other's tasks. */
export const uniqueTaskQueue = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;
