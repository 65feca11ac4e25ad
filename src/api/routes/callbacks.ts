import { Readable } from 'node:stream';
import { type Kysely, sql } from 'kysely';
import { Type } from 'typebox';
import type { Callback as CallbackRow, Database } from '../../db/schema';
import { callbackAlert, SOON_WINDOW_MS } from '../../domain/callback-alert';
import { assigneeStatusMessage, checkAssignee, unknown } from '../access';
import type { ApiDeps, App } from '../app';
import { type Actor, actorId, actsAsAdmin, requireAdminOf, requireOrgAdmin } from '../auth';
import { csvLines } from '../csv';
import { decodeCursor, ListOf, PageQuery, page } from '../pagination';
import { forbidden, unprocessable } from '../problem';
import { Id, IdParams, Nullable, NullableString, Timestamp } from '../schemas';

const Alert = Type.Union([Type.Literal('overdue'), Type.Literal('due'), Type.Literal('soon')]);
const Note = Type.String({ maxLength: 500 });

export const Callback = Type.Object({
  id: Id,
  customerId: Nullable(Id),
  name: Type.String(),
  phone: Type.String(),
  startsAt: Type.String(),
  endsAt: Type.String(),
  assigneeId: Nullable(Id),
  campaign: Nullable(Type.String()),
  note: Nullable(Type.String()),
  alert: Nullable(Alert),
  updatedAt: Type.String(),
  updatedBy: Nullable(Type.String()),
});

export const toCallback = (row: CallbackRow, now: Date) => ({
  id: row.id,
  customerId: row.customer_id,
  name: row.name,
  phone: row.phone,
  startsAt: row.starts_at.toISOString(),
  endsAt: row.ends_at.toISOString(),
  assigneeId: row.assignee_id,
  campaign: row.campaign,
  note: row.note,
  alert: callbackAlert(row.starts_at, row.ends_at, now),
  updatedAt: row.updated_at.toISOString(),
  updatedBy: row.updated_by,
});

const CSV_HEADER = Object.keys(Callback.properties);
/** Rows per query of a CSV export. */
const CSV_BATCH = 500;

/**
 * Callbacks with the office they belong to: the customer's office, or without a customer the
 * assignee's (callbacks have no office of their own); null for a callback with neither.
 */
const callbacksWithOffice = (db: Kysely<Database>) =>
  db
    .selectFrom('callbacks')
    .leftJoin('customers', 'customers.id', 'callbacks.customer_id')
    .leftJoin('agents', 'agents.id', 'callbacks.assignee_id')
    .selectAll('callbacks')
    .select(sql<string | null>`coalesce(customers.office_id, agents.office_id)`.as('office_id'));

function requireAdminOfCallback(actor: Actor, officeId: string | null, id: string) {
  if (officeId === null) requireOrgAdmin(actor);
  else requireAdminOf(actor, officeId, `callback ${id}`);
}

/** endsAt ≥ startsAt, else 422. */
function checkWindow(startsAt: Date, endsAt: Date) {
  if (endsAt < startsAt) {
    throw unprocessable('endsAt is before startsAt', [{ path: 'body/endsAt', message: 'must not be before startsAt' }]);
  }
}

/** The new assignee of a callback: an active or absent agent of `officeId` (default: its own office). */
async function callbackAssignee(trx: Kysely<Database>, actor: Actor, agentId: string, officeId: string | null) {
  const agent = await trx.selectFrom('agents').selectAll().where('id', '=', agentId).forShare().executeTakeFirst();
  const office = officeId ?? agent?.office_id ?? null;
  if (office !== null) requireAdminOf(actor, office, `agent ${agentId}`);
  return checkAssignee(agent, agentId, office ?? '', { field: 'assigneeId' });
}

export async function callbackRoutes(app: App, { db }: ApiDeps) {
  app.post(
    '/v1/callbacks',
    {
      schema: {
        body: Type.Object(
          {
            customerId: Type.Optional(Id),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            phone: Type.String({ minLength: 1, maxLength: 50 }),
            startsAt: Timestamp,
            endsAt: Timestamp,
            assigneeId: Id,
            campaign: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            note: Type.Optional(Note),
          },
          { additionalProperties: false },
        ),
        response: { 201: Callback },
      },
    },
    async (request, reply) => {
      const { body, actor } = request;
      const startsAt = new Date(body.startsAt);
      const endsAt = new Date(body.endsAt);
      const row = await db.transaction().execute(async (trx) => {
        let officeId: string | null = null;
        if (body.customerId !== undefined) {
          const customer = await trx
            .selectFrom('customers')
            .select('office_id')
            .where('id', '=', body.customerId)
            .executeTakeFirst();
          if (!customer) {
            const message = `customer ${body.customerId} does not exist`;
            throw unprocessable(message, [{ path: 'body/customerId', message }]);
          }
          officeId = customer.office_id;
          requireAdminOf(actor, officeId, `customer ${body.customerId}`);
        }
        const assignee = await callbackAssignee(trx, actor, body.assigneeId, officeId);
        checkWindow(startsAt, endsAt);
        const now = new Date();
        return trx
          .insertInto('callbacks')
          .values({
            customer_id: body.customerId ?? null,
            name: body.name,
            phone: body.phone,
            starts_at: startsAt,
            ends_at: endsAt,
            assignee_id: assignee.id,
            campaign: body.campaign ?? null,
            note: body.note ?? null,
            created_at: now,
            updated_at: now,
            updated_by: actorId(actor),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      return reply.status(201).send(toCallback(row, new Date()));
    },
  );

  app.get(
    '/v1/callbacks',
    {
      schema: {
        querystring: Type.Object({
          ...PageQuery,
          assigneeId: Type.Optional(Id),
          customerId: Type.Optional(Id),
          campaign: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          from: Type.Optional(Timestamp),
          to: Type.Optional(Timestamp),
          alert: Type.Optional(Type.Union([Alert, Type.Literal('none')])),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
        }),
        response: { 200: ListOf(Callback) },
      },
    },
    async (request, reply) => {
      const { actor, query: q } = request;
      const { limit = 100 } = q;
      const after = decodeCursor(q.cursor);
      const now = new Date();
      const soon = new Date(now.getTime() + SOON_WINDOW_MS);
      let query = callbacksWithOffice(db).orderBy('callbacks.id');
      if (actor.kind === 'agent' && !actsAsAdmin(actor)) {
        if (q.assigneeId !== undefined && q.assigneeId !== actor.agent.id) {
          throw forbidden('you may list your own callbacks only');
        }
        query = query.where('callbacks.assignee_id', '=', actor.agent.id);
      } else if (actor.kind === 'agent') {
        const office = actor.agent.office_id;
        if (q.assigneeId !== undefined && q.assigneeId !== actor.agent.id) {
          const agent = await db
            .selectFrom('agents')
            .select('office_id')
            .where('id', '=', q.assigneeId)
            .executeTakeFirst();
          if (agent?.office_id !== office) throw forbidden(`agent ${q.assigneeId} is not in your office`);
        }
        query = query.where(sql<boolean>`coalesce(customers.office_id, agents.office_id) = ${office}`);
      }
      if (q.assigneeId !== undefined) query = query.where('callbacks.assignee_id', '=', q.assigneeId);
      if (q.customerId !== undefined) query = query.where('callbacks.customer_id', '=', q.customerId);
      if (q.campaign !== undefined) query = query.where('callbacks.campaign', '=', q.campaign);
      // A window [from, to]: the callbacks that overlap it.
      if (q.from !== undefined) query = query.where('callbacks.ends_at', '>=', new Date(q.from));
      if (q.to !== undefined) query = query.where('callbacks.starts_at', '<=', new Date(q.to));
      // The same `now` as the `alert` computed for each item below.
      if (q.alert === 'overdue') query = query.where('callbacks.ends_at', '<', now);
      if (q.alert === 'due')
        query = query.where('callbacks.starts_at', '<=', now).where('callbacks.ends_at', '>=', now);
      if (q.alert === 'soon')
        query = query.where('callbacks.starts_at', '>', now).where('callbacks.starts_at', '<=', soon);
      if (q.alert === 'none')
        query = query.where('callbacks.starts_at', '>', soon).where('callbacks.ends_at', '>=', now);

      const wantsCsv =
        q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/i.test(request.headers.accept ?? ''));
      if (!wantsCsv) {
        const rows = await (after ? query.where('callbacks.id', '>', after) : query).limit(limit + 1).execute();
        return page(rows, limit, (row) => toCallback(row, now));
      }
      // Every matching row, no paging (API.md): read in keyset batches and streamed, so memory stays
      // bounded whatever the count. A stream body goes out as is; the JSON response schema does not apply.
      async function* csv() {
        yield csvLines([CSV_HEADER]);
        let last: string | undefined;
        for (;;) {
          const batch = await (last ? query.where('callbacks.id', '>', last) : query).limit(CSV_BATCH).execute();
          if (batch.length === 0) return;
          const items = batch.map((row) => toCallback(row, now));
          yield csvLines(items.map((item) => CSV_HEADER.map((key) => item[key as keyof typeof item])));
          last = batch[batch.length - 1]!.id;
        }
      }
      return reply
        .type('text/csv; charset=utf-8')
        .send(Readable.from(csv(), { objectMode: false, highWaterMark: 64 * 1024 }) as never);
    },
  );

  app.get('/v1/callbacks/:id', { schema: { params: IdParams, response: { 200: Callback } } }, async (request) => {
    const { actor } = request;
    const row = await callbacksWithOffice(db).where('callbacks.id', '=', request.params.id).executeTakeFirst();
    if (!row) throw unknown(actor, `callback ${request.params.id}`);
    const ownCallback = actor.kind === 'agent' && row.assignee_id === actor.agent.id;
    if (!ownCallback) requireAdminOfCallback(actor, row.office_id, row.id);
    return toCallback(row, new Date());
  });

  app.patch(
    '/v1/callbacks/:id',
    {
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            startsAt: Type.Optional(Timestamp),
            endsAt: Type.Optional(Timestamp),
            assigneeId: Type.Optional(Id),
            note: Type.Optional(NullableString({ maxLength: 500 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Callback },
      },
    },
    async (request) => {
      const { actor, body } = request;
      const row = await db.transaction().execute(async (trx) => {
        const current = await callbacksWithOffice(trx)
          .where('callbacks.id', '=', request.params.id)
          .forUpdate('callbacks')
          .executeTakeFirst();
        if (!current) throw unknown(actor, `callback ${request.params.id}`);
        requireAdminOfCallback(actor, current.office_id, current.id);
        let assigneeId = current.assignee_id;
        if (body.assigneeId !== undefined && body.assigneeId !== current.assignee_id) {
          // With a customer, the callback stays in the customer's office; without, in the office it is in.
          assigneeId = (await callbackAssignee(trx, actor, body.assigneeId, current.office_id)).id;
        }
        const startsAt = body.startsAt !== undefined ? new Date(body.startsAt) : current.starts_at;
        const endsAt = body.endsAt !== undefined ? new Date(body.endsAt) : current.ends_at;
        checkWindow(startsAt, endsAt);
        const rescheduled =
          startsAt.getTime() !== current.starts_at.getTime() || endsAt.getTime() !== current.ends_at.getTime();
        if (rescheduled && assigneeId !== null && assigneeId === current.assignee_id && endsAt >= new Date()) {
          // Invariants 2 and 9: a callback that has not ended is never with a leaving or offboarded agent.
          const assignee = await trx
            .selectFrom('agents')
            .selectAll()
            .where('id', '=', assigneeId)
            .forShare()
            .executeTakeFirst();
          if (assignee && (assignee.status === 'leaving' || assignee.status === 'offboarded')) {
            const message = `${assigneeStatusMessage(assignee)}; give the callback another assigneeId to reschedule it`;
            throw unprocessable(message, [{ path: 'body/endsAt', message }]);
          }
        }
        return trx
          .updateTable('callbacks')
          .set({
            starts_at: startsAt,
            ends_at: endsAt,
            assignee_id: assigneeId,
            ...(body.note !== undefined ? { note: body.note } : {}),
            updated_at: new Date(),
            updated_by: actorId(actor),
          })
          .where('id', '=', current.id)
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      return toCallback(row, new Date());
    },
  );
}
