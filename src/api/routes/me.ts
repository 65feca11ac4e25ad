import { Type } from 'typebox';
import type { ApiDeps, App } from '../app';
import { actsAsAdmin } from '../auth';
import { Nullable } from '../schemas';
import { Agent, agentsWithCount, toAgent } from './agents';
import { Office, toOffice } from './offices';

/**
 * `GET /v1/me`: who the token acts as and what it may do, so a client (the console) shows the
 * right screens without trying each one. An extension of API.md, open to every token.
 */
export async function meRoutes(app: App, { db }: ApiDeps) {
  app.get(
    '/v1/me',
    {
      schema: {
        response: {
          200: Type.Object({
            role: Type.Union([Type.Literal('org-admin'), Type.Literal('office-admin'), Type.Literal('agent')]),
            agent: Nullable(Agent),
            office: Nullable(Office),
          }),
        },
      },
    },
    async (request) => {
      const { actor } = request;
      if (actor.kind === 'org-admin') return { role: 'org-admin' as const, agent: null, office: null };
      const [agent, office] = await Promise.all([
        agentsWithCount(db).where('agents.id', '=', actor.agent.id).executeTakeFirstOrThrow(),
        db.selectFrom('offices').selectAll().where('id', '=', actor.agent.office_id).executeTakeFirstOrThrow(),
      ]);
      // A `leaving` admin administers nothing (auth.ts): it reads like a plain agent.
      const role = actsAsAdmin(actor) ? ('office-admin' as const) : ('agent' as const);
      return { role, agent: toAgent(agent), office: toOffice(office) };
    },
  );
}
