import { Type } from 'typebox';
import { integrityFindings } from '../../temporal/stuck-handovers';
import { requireAnyAdmin, scopeOffice } from '../access';
import type { ApiDeps, App } from '../app';
import { Id } from '../schemas';

const IntegrityItem = Type.Object({
  kind: Type.String(),
  entity: Type.String(),
  id: Type.String(),
  detail: Type.String(),
  officeId: Id,
});

/** `GET /v1/integrity`: the org admin sees every finding, an office admin its office's; anyone else 403. */
export async function integrityRoutes(app: App, { db, temporal }: ApiDeps) {
  app.get(
    '/v1/integrity',
    {
      schema: {
        querystring: Type.Object({ officeId: Type.Optional(Id) }),
        response: { 200: Type.Object({ items: Type.Array(IntegrityItem) }) },
      },
    },
    async (request) => {
      requireAnyAdmin(request.actor);
      const officeId = scopeOffice(request.actor, request.query.officeId);
      return { items: await integrityFindings(db, temporal, { officeId }) };
    },
  );
}
