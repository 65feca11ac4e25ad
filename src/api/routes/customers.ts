import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import { writeCustomerHistory } from '../../db/customer-history';
import type { Customer as CustomerRow, Database } from '../../db/schema';
import { unknown } from '../access';
import type { ApiDeps, App } from '../app';
import { type Actor, actorId, actsAsAdmin, requireAdminOf, requireReader } from '../auth';
import { decodeCursor, ListOf, PageQuery, page } from '../pagination';
import { badRequest, conflict, forbidden } from '../problem';
import { Id, IdParams, Nullable } from '../schemas';
import { CustomerInput, createCustomers } from './customers-bulk';

export const Customer = Type.Object({
  id: Id,
  officeId: Id,
  ownerId: Nullable(Id),
  name: Type.String(),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  kind: Type.Union([Type.Literal('buyer'), Type.Literal('seller'), Type.Literal('both')]),
  subscribed: Type.Boolean(),
  externalId: Nullable(Type.String()),
  trashedAt: Nullable(Type.String()),
  purgeAfter: Nullable(Type.String()),
});

export const toCustomer = (row: CustomerRow) => ({
  id: row.id,
  officeId: row.office_id,
  ownerId: row.owner_id,
  name: row.name,
  email: row.email,
  phone: row.phone,
  kind: row.kind,
  subscribed: row.subscribed,
  externalId: row.external_id,
  trashedAt: row.trashed_at?.toISOString() ?? null,
  purgeAfter: row.purge_after?.toISOString() ?? null,
});

const HistoryEntry = Type.Object({
  at: Type.String(),
  field: Type.Union([Type.Literal('ownerId'), Type.Literal('officeId'), Type.Literal('trashed')]),
  from: Nullable(Type.String()),
  to: Nullable(Type.String()),
  actor: Type.String(),
  handoverId: Nullable(Type.String()),
});
const HISTORY_FIELD = { owner_id: 'ownerId', office_id: 'officeId', trashed: 'trashed' } as const;

/** The customer, if `actor` may read it (its office's admins, or its owner); else 403 / 404. */
export async function readableCustomer(db: Kysely<Database>, actor: Actor, id: string): Promise<CustomerRow> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw unknown(actor, `customer ${id}`);
  requireReader(actor, row.office_id, row.owner_id, `customer ${id}`);
  return row;
}

/** The customer, locked for update, if `actor` administers its office; else 403 / 404. */
export async function administeredCustomer(db: Kysely<Database>, actor: Actor, id: string): Promise<CustomerRow> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (!row) throw unknown(actor, `customer ${id}`);
  requireAdminOf(actor, row.office_id, `customer ${id}`);
  return row;
}

export async function customerRoutes(app: App, { db, config }: ApiDeps) {
  app.post(
    '/v1/customers',
    { schema: { body: CustomerInput, response: { 201: Customer } } },
    async (request, reply) => {
      const row = await db.transaction().execute(async (trx) => {
        const [id] = await createCustomers(trx, request.actor, [request.body], () => 'body');
        return trx.selectFrom('customers').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
      });
      return reply.status(201).send(toCustomer(row));
    },
  );

  app.get('/v1/customers/:id', { schema: { params: IdParams, response: { 200: Customer } } }, async (request) =>
    toCustomer(await readableCustomer(db, request.actor, request.params.id)),
  );

  app.get(
    '/v1/customers',
    {
      schema: {
        querystring: Type.Object({
          ...PageQuery,
          ownerId: Type.Optional(Id),
          officeId: Type.Optional(Id),
          subscribed: Type.Optional(Type.Boolean()),
          trashed: Type.Optional(
            Type.Union([Type.Literal('false'), Type.Literal('true'), Type.Literal('any')], { default: 'false' }),
          ),
        }),
        response: { 200: ListOf(Customer) },
      },
    },
    async (request) => {
      const { actor } = request;
      const { limit = 100, ownerId, officeId, subscribed, trashed = 'false' } = request.query;
      const after = decodeCursor(request.query.cursor);
      let query = db
        .selectFrom('customers')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (actor.kind === 'agent' && !actsAsAdmin(actor)) {
        // A plain agent lists its own customers, and only those.
        if (ownerId !== undefined && ownerId !== actor.agent.id)
          throw forbidden('you may list your own customers only');
        query = query.where('owner_id', '=', actor.agent.id);
        if (officeId !== undefined) query = query.where('office_id', '=', officeId);
      } else {
        if (actor.kind === 'agent' && officeId !== undefined && officeId !== actor.agent.office_id) {
          throw forbidden('you do not administer that office');
        }
        const office = actor.kind === 'agent' ? actor.agent.office_id : officeId;
        if (office !== undefined) query = query.where('office_id', '=', office);
        if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
      }
      if (after) query = query.where('id', '>', after);
      if (subscribed !== undefined) query = query.where('subscribed', '=', subscribed);
      if (trashed === 'false') query = query.where('trashed_at', 'is', null);
      if (trashed === 'true') query = query.where('trashed_at', 'is not', null);
      return page(await query.execute(), limit, toCustomer);
    },
  );

  // Into the trash: never a hard delete. The daily purge removes it once `purgeAfter` has passed.
  app.delete('/v1/customers/:id', { schema: { params: IdParams, response: { 200: Customer } } }, async (request) => {
    const row = await db.transaction().execute(async (trx) => {
      const current = await administeredCustomer(trx, request.actor, request.params.id);
      if (current.trashed_at) throw conflict(`customer ${current.id} is already in the trash`);
      const trashedAt = new Date();
      const purgeAfter = new Date(trashedAt.getTime() + config.trashRetentionDays * 86_400_000);
      const updated = await trx
        .updateTable('customers')
        .set({ trashed_at: trashedAt, purge_after: purgeAfter, updated_at: trashedAt })
        .where('id', '=', current.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeCustomerHistory(trx, [{ customerId: current.id, field: 'trashed', from: false, to: true }], {
        actor: actorId(request.actor),
        at: trashedAt,
      });
      return updated;
    });
    return toCustomer(row);
  });

  app.post(
    '/v1/customers/:id/restore',
    { schema: { params: IdParams, response: { 200: Customer } } },
    async (request) => {
      const row = await db.transaction().execute(async (trx) => {
        const current = await administeredCustomer(trx, request.actor, request.params.id);
        if (!current.trashed_at) throw conflict(`customer ${current.id} is not in the trash`);
        const now = new Date();
        const updated = await trx
          .updateTable('customers')
          .set({ trashed_at: null, purge_after: null, updated_at: now })
          .where('id', '=', current.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await writeCustomerHistory(trx, [{ customerId: current.id, field: 'trashed', from: true, to: false }], {
          actor: actorId(request.actor),
          at: now,
        });
        return updated;
      });
      return toCustomer(row);
    },
  );

  app.get(
    '/v1/customers/:id/history',
    {
      schema: {
        params: IdParams,
        querystring: Type.Object(PageQuery),
        response: { 200: ListOf(HistoryEntry) },
      },
    },
    async (request) => {
      const customer = await readableCustomer(db, request.actor, request.params.id);
      const { limit = 100 } = request.query;
      const before = decodeCursor(request.query.cursor);
      if (before !== undefined && !/^\d{1,18}$/.test(before)) {
        throw badRequest('cursor is not one this API gave out', [{ path: 'query/cursor', message: 'invalid cursor' }]);
      }
      let query = db
        .selectFrom('customer_history')
        .selectAll()
        .where('customer_id', '=', customer.id)
        .orderBy('seq', 'desc')
        .limit(limit + 1);
      if (before !== undefined) query = query.where('seq', '<', before);
      const rows = (await query.execute()).map((r) => ({ ...r, id: String(r.seq) }));
      return page(rows, limit, (r) => ({
        at: r.at.toISOString(),
        field: HISTORY_FIELD[r.field],
        from: r.from_value,
        to: r.to_value,
        actor: r.actor,
        handoverId: r.handover_id,
      }));
    },
  );
}
