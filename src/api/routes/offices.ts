import type { Selectable } from 'kysely';
import { Type } from 'typebox';
import type { OfficeTable } from '../../db/schema';
import { requireAnyAdmin } from '../access';
import type { ApiDeps, App } from '../app';
import { requireOrgAdmin } from '../auth';
import { decodeCursor, ListOf, PageQuery, page } from '../pagination';
import { Id, Nullable } from '../schemas';

export const Office = Type.Object({
  id: Id,
  name: Type.String(),
  externalId: Nullable(Type.String()),
  createdAt: Type.String(),
});

export const toOffice = (row: Selectable<OfficeTable>) => ({
  id: row.id,
  name: row.name,
  externalId: row.external_id,
  createdAt: row.created_at.toISOString(),
});

export async function officeRoutes(app: App, { db }: ApiDeps) {
  app.post(
    '/v1/offices',
    {
      schema: {
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Office },
      },
    },
    async (request, reply) => {
      requireOrgAdmin(request.actor);
      const row = await db
        .insertInto('offices')
        .values({ name: request.body.name, external_id: request.body.externalId ?? null })
        .returningAll()
        .executeTakeFirstOrThrow();
      return reply.status(201).send(toOffice(row));
    },
  );

  app.get(
    '/v1/offices',
    { schema: { querystring: Type.Object(PageQuery), response: { 200: ListOf(Office) } } },
    async (request) => {
      const { limit = 100 } = request.query;
      const after = decodeCursor(request.query.cursor);
      let query = db
        .selectFrom('offices')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (after) query = query.where('id', '>', after);
      // Office admins see their own office only; plain agents get 403, as on every admin list.
      requireAnyAdmin(request.actor);
      if (request.actor.kind === 'agent') query = query.where('id', '=', request.actor.agent.office_id);
      return page(await query.execute(), limit, toOffice);
    },
  );
}
