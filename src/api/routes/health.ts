import { sql } from 'kysely';
import type { ApiDeps, App } from '../app';

export async function healthRoutes(app: App, { db, temporalReady }: ApiDeps) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [database, temporal] = await Promise.all([
      sql`select 1`.execute(db).then(
        () => true,
        () => false,
      ),
      temporalReady().catch(() => false),
    ]);
    const ready = database && temporal;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database, temporal });
  });
}
