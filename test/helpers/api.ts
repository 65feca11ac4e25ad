import type { Client } from '@temporalio/client';
import type { LightMyRequestResponse } from 'fastify';
import { type App, buildApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import type { Db } from '../../src/db/connect';

export const ADMIN_TOKEN = 'test-admin-token';

export interface TestApi {
  app: App;
  /** Calls the API in-process (fastify.inject) as `token` (default: the org admin). */
  call(
    method: string,
    url: string,
    body?: unknown,
    token?: string | null,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
}

export async function buildTestApi(db: Db, temporal: Client, env: Record<string, string> = {}): Promise<TestApi> {
  const config = loadConfig({ ADMIN_TOKEN, ...env });
  const app = await buildApp({ db, config, temporal, temporalReady: async () => true });
  await app.ready();
  return {
    app,
    call(method, url, body, token = ADMIN_TOKEN, headers = {}) {
      return app.inject({
        method: method as 'GET',
        url,
        ...(body === undefined ? {} : { payload: body as object }),
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      });
    },
  };
}
