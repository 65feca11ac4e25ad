import type { Selectable } from 'kysely';
import { Type } from 'typebox';
import type { LeadSourceTable } from '../../db/schema';
import { recheckSignal } from '../../workflows/definitions';
import { loadAssignee, requireAnyAdmin, scopeOffice } from '../access';
import type { ApiDeps, App } from '../app';
import { requireAdminOf } from '../auth';
import { decodeCursor, ListOf, PageQuery, page } from '../pagination';
import { unprocessable } from '../problem';
import { Id, Nullable, NullableId } from '../schemas';

const Key = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });

export const LeadSource = Type.Object({
  key: Key,
  name: Type.String(),
  officeId: Id,
  defaultAssigneeId: Nullable(Id),
});

export const toLeadSource = (row: Selectable<LeadSourceTable>) => ({
  key: row.key,
  name: row.name,
  officeId: row.office_id,
  defaultAssigneeId: row.default_assignee_id,
});

export async function leadSourceRoutes(app: App, { db, temporal }: ApiDeps) {
  app.put(
    '/v1/lead-sources/:key',
    {
      schema: {
        params: Type.Object({ key: Key }),
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), officeId: Id, defaultAssigneeId: NullableId },
          { additionalProperties: false },
        ),
        response: { 200: LeadSource },
      },
    },
    async (request) => {
      const { key } = request.params;
      const { name, officeId, defaultAssigneeId } = request.body;
      requireAdminOf(request.actor, officeId, `office ${officeId}`);
      let freed: string | null = null;
      const row = await db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom('lead_sources')
          .select(['office_id', 'default_assignee_id'])
          .where('key', '=', key)
          .forUpdate()
          .executeTakeFirst();
        freed = existing?.default_assignee_id ?? null;
        // Moving a lead source to another office needs the right to both.
        if (existing) requireAdminOf(request.actor, existing.office_id, `lead source ${key}`);
        const office = await trx.selectFrom('offices').select('id').where('id', '=', officeId).executeTakeFirst();
        if (!office) {
          throw unprocessable(`office ${officeId} does not exist`, [
            { path: 'body/officeId', message: 'unknown office' },
          ]);
        }
        // Inbound leads go to an agent who is at work: `active`, not merely not leaving.
        if (defaultAssigneeId !== null) {
          await loadAssignee(trx, defaultAssigneeId, officeId, { field: 'defaultAssigneeId', statuses: ['active'] });
        }
        const values = { name, office_id: officeId, default_assignee_id: defaultAssigneeId, updated_at: new Date() };
        return trx
          .insertInto('lead_sources')
          .values({ key, ...values })
          .onConflict((oc) => oc.column('key').doUpdateSet(values))
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      // Routed away from an agent whose handover waits on it: that handover rechecks now, not at its next interval.
      if (freed !== null && freed !== row.default_assignee_id) await recheckBlockedHandovers(freed);
      return toLeadSource(row);
    },
  );

  async function recheckBlockedHandovers(agentId: string) {
    const blocked = await db
      .selectFrom('handovers')
      .select('id')
      .where('agent_id', '=', agentId)
      .where('status', '=', 'blocked')
      .execute();
    for (const { id } of blocked) {
      await temporal.workflow
        .getHandle(id)
        .signal(recheckSignal)
        .catch(() => undefined); // it ended meanwhile: nothing to wake
    }
  }

  app.get(
    '/v1/lead-sources',
    {
      schema: {
        querystring: Type.Object({ ...PageQuery, officeId: Type.Optional(Id), defaultAssigneeId: Type.Optional(Id) }),
        response: { 200: ListOf(LeadSource) },
      },
    },
    async (request) => {
      requireAnyAdmin(request.actor);
      const { limit = 100, defaultAssigneeId } = request.query;
      const officeId = scopeOffice(request.actor, request.query.officeId);
      const after = decodeCursor(request.query.cursor);
      let query = db
        .selectFrom('lead_sources')
        .selectAll()
        .orderBy('key')
        .limit(limit + 1);
      if (after) query = query.where('key', '>', after);
      if (officeId) query = query.where('office_id', '=', officeId);
      if (defaultAssigneeId) query = query.where('default_assignee_id', '=', defaultAssigneeId);
      const rows = (await query.execute()).map((r) => ({ ...r, id: r.key }));
      return page(rows, limit, toLeadSource);
    },
  );
}
