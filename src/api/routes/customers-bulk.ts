import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { Type } from 'typebox';
import { writeCustomerHistory } from '../../db/customer-history';
import type { Database, NewCustomer } from '../../db/schema';
import { checkAssignee } from '../access';
import type { ApiDeps, App } from '../app';
import { type Actor, actorId, isAdminOf, requireAdminOf } from '../auth';
import { type FieldError, Problem, unprocessable } from '../problem';
import { Id, NullableId } from '../schemas';

export const MAX_BULK = 10_000;

/** The body of `POST /v1/customers`, and each row of `POST /v1/customers/bulk`. */
export const CustomerInput = Type.Object(
  {
    officeId: Id,
    ownerId: NullableId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
    phone: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    kind: Type.Union([Type.Literal('buyer'), Type.Literal('seller'), Type.Literal('both')]),
    subscribed: Type.Optional(Type.Boolean()),
    externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CustomerInputT = import('typebox').Static<typeof CustomerInput>;

// 12 columns a row: 2,000 rows a statement stay far below PostgreSQL's 65,535 bind parameters.
const CHUNK = 2000;

/**
 * Validates every row first (offices, owners, externalIds; set-based, one query each), then
 * inserts all rows and their ownerId history in chunks. Call inside a transaction: all or nothing.
 * `path(i)` names row i in problems (`body` for a single customer, `body/customers/<i>` in bulk).
 */
export async function createCustomers(
  trx: Kysely<Database>,
  actor: Actor,
  inputs: readonly CustomerInputT[],
  path: (i: number) => string,
): Promise<string[]> {
  const officeIds = [...new Set(inputs.map((c) => c.officeId))];
  for (const officeId of officeIds) requireAdminOf(actor, officeId, `office ${officeId}`);

  const invalid: FieldError[] = [];
  const duplicate: FieldError[] = [];
  const offices = new Set(
    (await trx.selectFrom('offices').select('id').where('id', '=', sql<string>`any(${officeIds})`).execute()).map(
      (o) => o.id,
    ),
  );
  const ownerIds = [...new Set(inputs.flatMap((c) => (c.ownerId === null ? [] : [c.ownerId])))];
  const owners = new Map(
    ownerIds.length === 0
      ? []
      : (
          await trx
            .selectFrom('agents')
            .selectAll()
            .where('id', '=', sql<string>`any(${ownerIds})`)
            .orderBy('id')
            .forShare()
            .execute()
        ).map((a) => [a.id, a]),
  );
  const externalIds = inputs.flatMap((c) => (c.externalId === undefined ? [] : [c.externalId]));
  const taken = new Map(
    externalIds.length === 0
      ? []
      : (
          await trx
            .selectFrom('customers')
            .select(['id', 'external_id', 'office_id'])
            .where('external_id', '=', sql<string>`any(${externalIds})`)
            .execute()
        ).map((c) => [c.external_id, c]),
  );

  const seen = new Map<string, number>();
  inputs.forEach((c, i) => {
    if (!offices.has(c.officeId)) {
      invalid.push({ path: `${path(i)}/officeId`, message: `office ${c.officeId} does not exist` });
    } else if (c.ownerId !== null) {
      try {
        checkAssignee(owners.get(c.ownerId), c.ownerId, c.officeId, { field: 'ownerId', path: `${path(i)}/ownerId` });
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        invalid.push(...(error.errors ?? []));
      }
    }
    if (c.externalId !== undefined) {
      const other = taken.get(c.externalId);
      const first = seen.get(c.externalId);
      if (other) {
        // Its ID only to whom administers its office: the externalId is unique across the organisation.
        const who = isAdminOf(actor, other.office_id) ? `customer ${other.id}` : 'a customer of another office';
        duplicate.push({ path: `${path(i)}/externalId`, message: `${who} already has externalId ${c.externalId}` });
      } else if (first !== undefined) {
        duplicate.push({ path: `${path(i)}/externalId`, message: `externalId ${c.externalId} repeats ${path(first)}` });
      } else seen.set(c.externalId, i);
    }
  });
  const summary = (errors: FieldError[]) =>
    `${errors[0]?.path}: ${errors[0]?.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`;
  // Problem keeps the first MAX_FIELD_ERRORS of them (API.md) and says how many there were.
  if (invalid.length > 0) throw unprocessable(summary(invalid), invalid);
  if (duplicate.length > 0) throw new Problem(409, 'Conflict', summary(duplicate), duplicate);

  const now = new Date();
  const rows: Array<NewCustomer & { id: string }> = inputs.map((c) => ({
    id: randomUUID(),
    office_id: c.officeId,
    owner_id: c.ownerId,
    name: c.name,
    email: c.email ?? null,
    phone: c.phone ?? null,
    kind: c.kind,
    subscribed: c.subscribed ?? true,
    external_id: c.externalId ?? null,
    created_at: now,
    updated_at: now,
  }));
  for (let i = 0; i < rows.length; i += CHUNK) {
    await trx
      .insertInto('customers')
      .values(rows.slice(i, i + CHUNK))
      .execute();
  }
  await writeCustomerHistory(
    trx,
    rows.map((r) => ({ customerId: r.id, field: 'owner_id' as const, from: null, to: r.owner_id ?? null })),
    { actor: actorId(actor), at: now },
  );
  return rows.map((r) => r.id);
}

export async function bulkCustomerRoutes(app: App, { db }: ApiDeps) {
  app.post(
    '/v1/customers/bulk',
    {
      schema: {
        body: Type.Object(
          { customers: Type.Array(CustomerInput, { minItems: 1, maxItems: MAX_BULK }) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ ids: Type.Array(Id) }) },
      },
    },
    async (request, reply) => {
      const ids = await db
        .transaction()
        .execute((trx) => createCustomers(trx, request.actor, request.body.customers, (i) => `body/customers/${i}`));
      return reply.status(201).send({ ids });
    },
  );
}
