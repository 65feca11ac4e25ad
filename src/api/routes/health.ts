import { sql } from 'kysely';
import type { ApiDeps, App } from '../app';
import { Problem } from '../problem';

/**
 * How long /readyz waits for each dependency: a probe that answers late is as bad as none (a
 * refused Temporal connection is retried by the client for about 20 s before it gives up).
 */
export const READY_TIMEOUT_MS = 2000;

/** `probe` answered true within `ms`; false when it failed or did not answer in time. */
function within(ms: number, probe: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const answered = probe().then(
    (ok) => ok !== false,
    () => false,
  );
  return Promise.race([answered, late]).finally(() => clearTimeout(timer));
}

export async function healthRoutes(app: App, { db, temporalReady }: ApiDeps) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [database, temporal] = await Promise.all([
      within(READY_TIMEOUT_MS, () => sql`select 1`.execute(db)),
      within(READY_TIMEOUT_MS, temporalReady),
    ]);
    if (database && temporal) return reply.status(200).send({ status: 'ready', database, temporal });
    // An error like every other (API.md, Conventions), saying which dependency does not answer.
    const down = [database ? undefined : 'the database', temporal ? undefined : 'Temporal'].filter(Boolean);
    const problem = new Problem(
      503,
      'Service Unavailable',
      `not ready: ${down.join(' and ')} ${down.length > 1 ? 'do' : 'does'} not answer`,
    );
    return reply
      .status(503)
      .type('application/problem+json')
      .send({ ...problem.toJSON(), database, temporal });
  });
}
