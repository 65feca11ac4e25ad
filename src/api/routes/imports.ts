/**
 * `POST /v1/imports/customers`: a customer file (a CRM export) imported by externalId.
 *
 * Each row is resolved by externalId across the whole organisation (API.md, "Import by external ID"):
 *   owned by ownerId            → updated (or unchanged when nothing differs)
 *   in ownerId's trash          → restored (and updated)
 *   owned by someone else       → transfer: moved to ownerId (owner, office, open records of the old
 *                                  owner), keeping its id, records and history;
 *                                  no transfer: the old one goes to the trash with its externalId
 *                                  set to NULL (freed), and a new customer is created
 *   in someone else's trash     → restored and moved to ownerId (whatever `transfer` says)
 *   nowhere                     → created
 * Only the organisation administrator may resolve rows to customers of another office (403 for an
 * office admin: it administers its own office only).
 * `update-with-delete` also trashes ownerId's other (non-trashed) customers missing from the file.
 *
 * One transaction per call and a fixed number of statements whatever the file's size: every
 * statement takes the rows as arrays (`unnest`), never one round trip per row. Every owner, office
 * and trash change is written to customer_history (invariant 8), actor = the caller.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { type Static, Type } from 'typebox';
import type { Config } from '../../config';
import { type CustomerChange, writeCustomerHistory } from '../../db/customer-history';
import type { Customer, CustomerKind, Database } from '../../db/schema';
import { checkAssignee, requireAnyAdmin } from '../access';
import type { ApiDeps, App } from '../app';
import { type Actor, actorId, requireAdminOf } from '../auth';
import { badRequest, conflict, type FieldError, forbidden } from '../problem';
import { Id, NullableString } from '../schemas';
import { MAX_BULK } from './customers-bulk';

const Kind = Type.Union([Type.Literal('buyer'), Type.Literal('seller'), Type.Literal('both')]);

export const ImportRow = Type.Object(
  {
    externalId: Type.String({ minLength: 1, maxLength: 200 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    // Absent: keep the customer's current value (or none for a new one); null: clear it.
    email: Type.Optional(NullableString({ format: 'email', maxLength: 320 })),
    phone: Type.Optional(NullableString({ minLength: 1, maxLength: 50 })),
    // Absent: keep the current kind; a new customer defaults to `buyer`.
    kind: Type.Optional(Kind),
    // Absent: keep the current value; a new customer defaults to true.
    subscribed: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ImportRowT = Static<typeof ImportRow>;

export const ImportBody = Type.Object(
  {
    ownerId: Id,
    mode: Type.Union([Type.Literal('update'), Type.Literal('update-with-delete')]),
    transfer: Type.Optional(Type.Boolean({ default: true })),
    customers: Type.Array(ImportRow, { minItems: 1, maxItems: MAX_BULK }),
  },
  { additionalProperties: false },
);
export type ImportBodyT = Static<typeof ImportBody>;

export const ImportResult = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  transferred: Type.Integer(),
  restored: Type.Integer(),
  trashed: Type.Integer(),
  unchanged: Type.Integer(),
});
export type ImportResultT = Static<typeof ImportResult>;

/** A new customer kind when the row names none. */
export const DEFAULT_IMPORT_KIND: CustomerKind = 'buyer';

/** The values a customer ends up with, from its current row (if any) and the file's row. */
interface Values {
  name: string;
  email: string | null;
  phone: string | null;
  kind: CustomerKind;
  subscribed: boolean;
}

function merged(row: ImportRowT, current: Customer | undefined): Values {
  return {
    name: row.name,
    email: row.email !== undefined ? row.email : (current?.email ?? null),
    phone: row.phone !== undefined ? row.phone : (current?.phone ?? null),
    kind: row.kind ?? current?.kind ?? DEFAULT_IMPORT_KIND,
    subscribed: row.subscribed ?? current?.subscribed ?? true,
  };
}

const sameValues = (v: Values, c: Customer) =>
  v.name === c.name && v.email === c.email && v.phone === c.phone && v.kind === c.kind && v.subscribed === c.subscribed;

/** 400 when an externalId appears twice in the file. */
function rejectDuplicates(rows: readonly ImportRowT[]): void {
  const first = new Map<string, number>();
  const errors: FieldError[] = [];
  rows.forEach((row, i) => {
    const j = first.get(row.externalId);
    if (j === undefined) first.set(row.externalId, i);
    else
      errors.push({ path: `body/customers/${i}/externalId`, message: `externalId ${row.externalId} repeats row ${j}` });
  });
  if (errors.length > 0) {
    throw badRequest(
      `${errors.length} duplicate externalId(s) in the file, first ${errors[0]!.path}: ${errors[0]!.message}`,
      errors, // Problem keeps the first MAX_FIELD_ERRORS (API.md)
    );
  }
}

/** The whole import, inside the transaction `trx`. */
export async function importCustomers(
  trx: Kysely<Database>,
  actor: Actor,
  body: ImportBodyT,
  config: Pick<Config, 'trashRetentionDays'>,
): Promise<ImportResultT> {
  requireAnyAdmin(actor);
  rejectDuplicates(body.customers);
  const transfer = body.transfer ?? true;

  // The owner, locked FOR SHARE so no handover marks it `leaving` before we commit.
  const owner = await trx.selectFrom('agents').selectAll().where('id', '=', body.ownerId).forShare().executeTakeFirst();
  if (owner) requireAdminOf(actor, owner.office_id, `agent ${owner.id}`);
  checkAssignee(owner, body.ownerId, owner?.office_id ?? '', { field: 'ownerId' });
  const ownerId = body.ownerId;
  const officeId = owner!.office_id;

  const now = new Date();
  const purgeAfter = new Date(now.getTime() + config.trashRetentionDays * 86_400_000);
  const meta = { actor: actorId(actor), at: now };
  const counts: ImportResultT = { created: 0, updated: 0, transferred: 0, restored: 0, trashed: 0, unchanged: 0 };

  // Every customer the file names, wherever it is, locked (in id order: no deadlock between imports).
  const externalIds = body.customers.map((c) => c.externalId);
  const existing = new Map(
    (
      await trx
        .selectFrom('customers')
        .selectAll()
        .where('external_id', '=', sql<string>`any(${externalIds}::text[])`)
        .orderBy('id')
        .forUpdate()
        .execute()
    ).map((c) => [c.external_id!, c]),
  );

  // An office admin administers its own office only: it may not take (or trash) another office's customer.
  if (actor.kind === 'agent') {
    const foreign = [...existing.values()].filter((c) => c.office_id !== actor.agent.office_id);
    if (foreign.length > 0) {
      throw forbidden(
        `${foreign.length} externalId(s) of the file belong to customers of another office (first: ${foreign[0]!.external_id}); only the organisation administrator may import across offices`,
      );
    }
  }

  // Resolve each row (in memory), collecting what each statement below will do.
  const toCreate: Array<Values & { id: string; externalId: string }> = [];
  const toUpdate: Array<Values & { id: string }> = []; // kept customers: owner, office, trash and values set
  const replaced: Customer[] = []; // another agent's customer, without transfer: trashed, externalId freed
  const moved: Customer[] = []; // another agent's customer (or trashed one) coming to ownerId
  const history: CustomerChange[] = [];

  for (const row of body.customers) {
    const current = existing.get(row.externalId);
    if (!current) {
      toCreate.push({ id: randomUUID(), externalId: row.externalId, ...merged(row, undefined) });
      counts.created++;
      continue;
    }
    const values = merged(row, current);
    const trashed = current.trashed_at !== null;
    const ownedHere = current.owner_id === ownerId;
    if (!ownedHere && !trashed && !transfer) {
      replaced.push(current);
      toCreate.push({ id: randomUUID(), externalId: row.externalId, ...values });
      counts.created++;
      continue;
    }
    if (ownedHere && !trashed && current.office_id === officeId && sameValues(values, current)) {
      counts.unchanged++;
      continue;
    }
    toUpdate.push({ id: current.id, ...values });
    if (trashed) {
      counts.restored++;
      history.push({ customerId: current.id, field: 'trashed', from: true, to: false });
    } else if (ownedHere) counts.updated++;
    else counts.transferred++;
    if (!ownedHere) moved.push(current);
    history.push({ customerId: current.id, field: 'owner_id', from: current.owner_id, to: ownerId });
    history.push({ customerId: current.id, field: 'office_id', from: current.office_id, to: officeId });
  }

  // 1. Replaced customers go to the trash; their externalId is set to NULL, so the new one can take it.
  if (replaced.length > 0) {
    await trx
      .updateTable('customers')
      .set({ trashed_at: now, purge_after: purgeAfter, external_id: null, updated_at: now })
      .where('id', '=', sql<string>`any(${replaced.map((c) => c.id)}::text[])`)
      .execute();
    for (const c of replaced) history.push({ customerId: c.id, field: 'trashed', from: false, to: true });
    counts.trashed += replaced.length;
  }

  // 2. Updated, restored and transferred customers: one UPDATE … FROM unnest.
  if (toUpdate.length > 0) {
    const col = <K extends keyof (typeof toUpdate)[number]>(k: K) => toUpdate.map((u) => u[k]);
    await sql`
      update customers c
         set owner_id = ${ownerId}, office_id = ${officeId}, trashed_at = null, purge_after = null,
             name = u.name, email = u.email, phone = u.phone, kind = u.kind, subscribed = u.subscribed,
             updated_at = ${now}
        from unnest(${col('id')}::text[], ${col('name')}::text[], ${col('email')}::text[], ${col('phone')}::text[],
                    ${col('kind')}::text[], ${col('subscribed')}::boolean[])
             as u(id, name, email, phone, kind, subscribed)
       where c.id = u.id`.execute(trx);
  }

  // 3. A transferred customer's open records assigned to its old owner follow it to ownerId.
  const followers = moved.filter((c) => c.owner_id !== null);
  if (followers.length > 0) {
    await sql`
      update customer_records r
         set assignee_id = ${ownerId}, updated_at = ${now}
        from unnest(${followers.map((c) => c.id)}::text[], ${followers.map((c) => c.owner_id)}::text[])
             as m(customer_id, old_owner)
       where r.customer_id = m.customer_id and r.assignee_id = m.old_owner and r.status = 'open'`.execute(trx);
  }

  // 4. New customers: one INSERT … SELECT FROM unnest.
  if (toCreate.length > 0) {
    const col = <K extends keyof (typeof toCreate)[number]>(k: K) => toCreate.map((u) => u[k]);
    await sql`
      insert into customers (id, office_id, owner_id, name, email, phone, kind, subscribed, external_id, created_at, updated_at)
      select u.id, ${officeId}, ${ownerId}, u.name, u.email, u.phone, u.kind, u.subscribed, u.external_id, ${now}, ${now}
        from unnest(${col('id')}::text[], ${col('name')}::text[], ${col('email')}::text[], ${col('phone')}::text[],
                    ${col('kind')}::text[], ${col('subscribed')}::boolean[], ${col('externalId')}::text[])
             as u(id, name, email, phone, kind, subscribed, external_id)`.execute(trx);
    for (const c of toCreate) history.push({ customerId: c.id, field: 'owner_id', from: null, to: ownerId });
  }

  // 5. update-with-delete: ownerId's other customers, missing from the file, go to the trash.
  if (body.mode === 'update-with-delete') {
    const { rows } = await sql<{ id: string }>`
      update customers
         set trashed_at = ${now}, purge_after = ${purgeAfter}, updated_at = ${now}
       where owner_id = ${ownerId} and trashed_at is null
         and (external_id is null or external_id <> all(${externalIds}::text[]))
      returning id`.execute(trx);
    for (const { id } of rows) history.push({ customerId: id, field: 'trashed', from: false, to: true });
    counts.trashed += rows.length;
  }

  await writeCustomerHistory(trx, history, meta);
  return counts;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string } | null)?.code === '23505';

export async function importRoutes(app: App, { db, config }: ApiDeps) {
  app.post(
    '/v1/imports/customers',
    { schema: { body: ImportBody, response: { 200: ImportResult } } },
    async (request) => {
      try {
        return await db.transaction().execute((trx) => importCustomers(trx, request.actor, request.body, config));
      } catch (error) {
        // Another import or POST /v1/customers took one of the file's externalIds meanwhile.
        if (isUniqueViolation(error)) throw conflict('an externalId of the file was taken meanwhile; retry the import');
        throw error;
      }
    },
  );
}
