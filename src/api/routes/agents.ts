import { type Kysely, sql } from 'kysely';
import { Type } from 'typebox';
import type { Agent as AgentRow, Database } from '../../db/schema';
import { requireAnyAdmin, scopeOffice, unknown } from '../access';
import type { ApiDeps, App } from '../app';
import { hashToken, isAdminOf, newToken, refuseSelf, requireAdminOf } from '../auth';
import { signalCovers } from '../integrations/pool';
import { decodeCursor, ListOf, PageQuery, page } from '../pagination';
import { conflict, unprocessable } from '../problem';
import { Id, IdParams, Nullable } from '../schemas';

const Role = Type.Union([Type.Literal('admin'), Type.Literal('agent')]);
const Locale = Type.Union([Type.Literal('ja'), Type.Literal('en')]);
const Status = Type.Union([
  Type.Literal('active'),
  Type.Literal('absent'),
  Type.Literal('leaving'),
  Type.Literal('offboarded'),
]);

export const Agent = Type.Object({
  id: Id,
  officeId: Id,
  name: Type.String(),
  email: Type.String(),
  role: Role,
  locale: Locale,
  status: Status,
  externalId: Nullable(Type.String()),
  customerCount: Type.Integer(),
  /** Callbacks assigned to the agent that have not ended (an extension of API.md's Agent). */
  callbackCount: Type.Integer(),
});

type Counted = { customer_count?: number | string | null; callback_count?: number | string | null };

export const toAgent = (row: AgentRow & Counted) => ({
  id: row.id,
  officeId: row.office_id,
  name: row.name,
  email: row.email,
  role: row.role,
  locale: row.locale,
  status: row.status,
  externalId: row.external_id,
  customerCount: Number(row.customer_count ?? 0),
  callbackCount: Number(row.callback_count ?? 0),
});

/** Agents with the number of customers each owns (trashed included) and of its callbacks not yet ended. */
export const agentsWithCount = (db: Kysely<Database>) =>
  db
    .selectFrom('agents')
    .selectAll('agents')
    .select((eb) =>
      eb
        .selectFrom('customers')
        .whereRef('customers.owner_id', '=', 'agents.id')
        .select(sql<number>`count(*)`.as('n'))
        .as('customer_count'),
    )
    .select((eb) =>
      eb
        .selectFrom('callbacks')
        .whereRef('callbacks.assignee_id', '=', 'agents.id')
        .where('callbacks.ends_at', '>=', sql<Date>`now()`)
        .select(sql<number>`count(*)`.as('n'))
        .as('callback_count'),
    );

export async function agentRoutes(app: App, { db, temporal }: ApiDeps) {
  app.post(
    '/v1/agents',
    {
      schema: {
        body: Type.Object(
          {
            officeId: Id,
            name: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.String({ format: 'email', maxLength: 320 }),
            role: Role,
            locale: Type.Optional(Locale),
            externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Agent },
      },
    },
    async (request, reply) => {
      const { body } = request;
      requireAdminOf(request.actor, body.officeId, `office ${body.officeId}`);
      const office = await db.selectFrom('offices').select('id').where('id', '=', body.officeId).executeTakeFirst();
      if (!office) {
        throw unprocessable(`office ${body.officeId} does not exist`, [
          { path: 'body/officeId', message: 'unknown office' },
        ]);
      }
      if (body.externalId !== undefined) {
        const taken = await db
          .selectFrom('agents')
          .select(['id', 'office_id'])
          .where('external_id', '=', body.externalId)
          .executeTakeFirst();
        if (taken) {
          // Its ID only to whom administers its office: the externalId is unique across the organisation.
          const who = isAdminOf(request.actor, taken.office_id) ? `agent ${taken.id}` : 'an agent of another office';
          throw conflict(`${who} already has externalId ${body.externalId}`);
        }
      }
      const row = await db
        .insertInto('agents')
        .values({
          office_id: body.officeId,
          name: body.name,
          email: body.email,
          role: body.role,
          locale: body.locale ?? 'en',
          status: 'active',
          external_id: body.externalId ?? null,
          updated_at: new Date(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return reply.status(201).send(toAgent(row));
    },
  );

  app.get('/v1/agents/:id', { schema: { params: IdParams, response: { 200: Agent } } }, async (request) => {
    const row = await agentsWithCount(db).where('agents.id', '=', request.params.id).executeTakeFirst();
    if (!row) throw unknown(request.actor, `agent ${request.params.id}`);
    requireAdminOf(request.actor, row.office_id, `agent ${row.id}`);
    return toAgent(row);
  });

  app.get(
    '/v1/agents',
    {
      schema: {
        querystring: Type.Object({ ...PageQuery, officeId: Type.Optional(Id), status: Type.Optional(Status) }),
        response: { 200: ListOf(Agent) },
      },
    },
    async (request) => {
      requireAnyAdmin(request.actor);
      const { limit = 100, status } = request.query;
      const officeId = scopeOffice(request.actor, request.query.officeId);
      const after = decodeCursor(request.query.cursor);
      let query = agentsWithCount(db)
        .orderBy('agents.id')
        .limit(limit + 1);
      if (after) query = query.where('agents.id', '>', after);
      if (officeId) query = query.where('agents.office_id', '=', officeId);
      if (status) query = query.where('agents.status', '=', status);
      return page(await query.execute(), limit, toAgent);
    },
  );

  app.patch(
    '/v1/agents/:id',
    {
      schema: {
        params: IdParams,
        // `role` is how an office's admins promote an agent (e.g. one that arrived by a transfer).
        body: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('absent')])),
            role: Type.Optional(Role),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Agent },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { status, role } = request.body;
      const current = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw unknown(request.actor, `agent ${id}`);
      requireAdminOf(request.actor, current.office_id, `agent ${id}`);
      refuseSelf(request.actor, id, 'change the status or role of');
      // Compare-and-set: `leaving` and `offboarded` belong to handovers, even one that starts right now.
      const updated = await db
        .updateTable('agents')
        .set({ ...(status ? { status } : {}), ...(role ? { role } : {}), updated_at: new Date() })
        .where('id', '=', id)
        .where('status', 'in', ['active', 'absent'])
        .returning('id')
        .executeTakeFirst();
      if (!updated) {
        const now = await db.selectFrom('agents').select('status').where('id', '=', id).executeTakeFirstOrThrow();
        throw conflict(
          `agent ${id} is ${now.status}; only a handover changes a leaving or offboarded agent (retry once it has ended)`,
        );
      }
      // The agent is back: covers of its callbacks hand them back now instead of at `until`.
      if (status === 'active' && current.status === 'absent') await signalCovers(db, temporal, id);
      return toAgent(await agentsWithCount(db).where('agents.id', '=', id).executeTakeFirstOrThrow());
    },
  );

  app.post(
    '/v1/agents/:id/tokens',
    { schema: { params: IdParams, response: { 201: Type.Object({ token: Type.String() }) } } },
    async (request, reply) => {
      const { id } = request.params;
      const agent = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
      if (!agent) throw unknown(request.actor, `agent ${id}`);
      requireAdminOf(request.actor, agent.office_id, `agent ${id}`);
      if (agent.status === 'offboarded') {
        throw unprocessable(`agent ${agent.name} (${id}) is offboarded; it cannot be given a token`);
      }
      const token = newToken();
      await db
        .insertInto('api_tokens')
        .values({ agent_id: id, token_hash: hashToken(token) })
        .execute();
      return reply.status(201).send({ token });
    },
  );
}
