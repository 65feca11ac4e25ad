import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { Customer, CustomerRecord, Database } from '../../db/schema';
import { assigneeStatusMessage, loadAssignee, RECEIVING } from '../access';
import type { ApiDeps, App } from '../app';
import { decodeCursor, ListOf, PageQuery, page } from '../pagination';
import { notFound, unprocessable } from '../problem';
import { Id, IdParams, Nullable, NullableId, NullableTimestamp } from '../schemas';
import { administeredCustomer, readableCustomer } from './customers';

const RecordType = Type.Union([
  Type.Literal('task'),
  Type.Literal('appointment'),
  Type.Literal('visit_report'),
  Type.Literal('visit_block'),
  Type.Literal('note'),
]);
const RecordStatus = Type.Union([Type.Literal('open'), Type.Literal('done')]);
const Title = Type.String({ minLength: 1, maxLength: 500 });

export const RecordSchema = Type.Object({
  id: Id,
  customerId: Id,
  type: RecordType,
  title: Type.String(),
  dueAt: Nullable(Type.String()),
  assigneeId: Nullable(Id),
  status: RecordStatus,
});

export const toRecord = (row: CustomerRecord) => ({
  id: row.id,
  customerId: row.customer_id,
  type: row.type,
  title: row.title,
  dueAt: row.due_at?.toISOString() ?? null,
  assigneeId: row.assignee_id,
  status: row.status,
});

const RecordParams = Type.Object({ id: Id, recordId: Id });

/**
 * The assignee of a new record: the one asked for (an active or absent agent of the customer's
 * office), else the customer's owner — unless a handover of the owner runs, then 422.
 */
async function newRecordAssignee(
  trx: Kysely<Database>,
  customer: Customer,
  assigneeId: string | null | undefined,
): Promise<string | null> {
  if (assigneeId === null) return null;
  if (assigneeId !== undefined) {
    return (await loadAssignee(trx, assigneeId, customer.office_id, { field: 'assigneeId' })).id;
  }
  if (customer.owner_id === null) return null;
  const owner = await trx
    .selectFrom('agents')
    .selectAll()
    .where('id', '=', customer.owner_id)
    .forShare()
    .executeTakeFirstOrThrow();
  if (!RECEIVING.includes(owner.status)) {
    const message = `the customer's owner is the default assignee, but ${assigneeStatusMessage(owner)}; or give assigneeId`;
    throw unprocessable(message, [{ path: 'body/assigneeId', message }]);
  }
  return owner.id;
}

export async function recordRoutes(app: App, { db }: ApiDeps) {
  app.post(
    '/v1/customers/:id/records',
    {
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            type: RecordType,
            title: Title,
            dueAt: Type.Optional(NullableTimestamp),
            assigneeId: Type.Optional(NullableId),
          },
          { additionalProperties: false },
        ),
        response: { 201: RecordSchema },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const row = await db.transaction().execute(async (trx) => {
        const customer = await administeredCustomer(trx, request.actor, request.params.id);
        const assignee = await newRecordAssignee(trx, customer, body.assigneeId);
        const now = new Date();
        return trx
          .insertInto('customer_records')
          .values({
            customer_id: customer.id,
            type: body.type,
            title: body.title,
            due_at: body.dueAt ?? null,
            assignee_id: assignee,
            status: 'open',
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      return reply.status(201).send(toRecord(row));
    },
  );

  app.get(
    '/v1/customers/:id/records',
    { schema: { params: IdParams, querystring: Type.Object(PageQuery), response: { 200: ListOf(RecordSchema) } } },
    async (request) => {
      const customer = await readableCustomer(db, request.actor, request.params.id);
      const { limit = 100 } = request.query;
      const after = decodeCursor(request.query.cursor);
      let query = db
        .selectFrom('customer_records')
        .selectAll()
        .where('customer_id', '=', customer.id)
        .orderBy('id')
        .limit(limit + 1);
      if (after) query = query.where('id', '>', after);
      return page(await query.execute(), limit, toRecord);
    },
  );

  app.patch(
    '/v1/customers/:id/records/:recordId',
    {
      schema: {
        params: RecordParams,
        body: Type.Object(
          {
            status: Type.Optional(RecordStatus),
            title: Type.Optional(Title),
            dueAt: Type.Optional(NullableTimestamp),
            assigneeId: Type.Optional(NullableId),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: RecordSchema },
      },
    },
    async (request) => {
      const { body } = request;
      const row = await db.transaction().execute(async (trx) => {
        const customer = await administeredCustomer(trx, request.actor, request.params.id);
        const record = await trx
          .selectFrom('customer_records')
          .selectAll()
          .where('id', '=', request.params.recordId)
          .where('customer_id', '=', customer.id)
          .forUpdate()
          .executeTakeFirst();
        if (!record) throw notFound(`record ${request.params.recordId} of customer ${customer.id} not found`);
        const assignee = body.assigneeId === undefined ? record.assignee_id : body.assigneeId;
        const status = body.status ?? record.status;
        // A new assignee, or an open record again, is something new for that agent: it must be able to take it.
        const changed = assignee !== record.assignee_id || (status === 'open' && record.status === 'done');
        if (assignee !== null && changed) {
          await loadAssignee(trx, assignee, customer.office_id, { field: 'assigneeId' });
        }
        return trx
          .updateTable('customer_records')
          .set({
            status,
            assignee_id: assignee,
            ...(body.title !== undefined ? { title: body.title } : {}),
            ...(body.dueAt !== undefined ? { due_at: body.dueAt } : {}),
            updated_at: new Date(),
          })
          .where('id', '=', record.id)
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      return toRecord(row);
    },
  );
}
