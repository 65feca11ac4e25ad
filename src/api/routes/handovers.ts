import { Type } from 'typebox';
import type { HandoverRequest } from '../../domain/handover';
import { recheckSignal } from '../../workflows/definitions';
import { requireAnyAdmin } from '../access';
import type { ApiDeps, App } from '../app';
import { HandoverBody, HandoverView, PreviewView } from '../handovers/schemas';
import { callerKey, preview, start } from '../handovers/start';
import { loadForAction, loadForAdmin, view } from '../handovers/view';
import { decodeCursor, ListOf, PageQuery, page } from '../pagination';
import { conflict } from '../problem';
import { IdParams } from '../schemas';

const HandoverStatus = Type.Union(
  ['running', 'blocked', 'completed', 'cancelled', 'compensated', 'failed'].map((s) => Type.Literal(s)),
);
const HandoverKind = Type.Union(
  ['offboard', 'transfer', 'reassign-customers', 'reassign-callbacks'].map((s) => Type.Literal(s)),
);

export async function handoverRoutes(app: App, deps: ApiDeps) {
  const { db, temporal } = deps;

  app.post(
    '/v1/handovers',
    {
      schema: {
        body: HandoverBody,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        response: { 200: HandoverView, 202: HandoverView },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const result = await start(
        deps,
        request.actor,
        request.body as HandoverRequest,
        key === undefined ? undefined : callerKey(request.actor, key),
      );
      return reply.status(result.status).send(result.handover);
    },
  );

  app.post(
    '/v1/handovers/preview',
    { schema: { body: HandoverBody, response: { 200: PreviewView } } },
    async (request) => preview(deps, request.actor, request.body as HandoverRequest),
  );

  app.get('/v1/handovers/:id', { schema: { params: IdParams, response: { 200: HandoverView } } }, async (request) =>
    view(deps, await loadForAdmin(deps, request.actor, request.params.id)),
  );

  app.get(
    '/v1/handovers',
    {
      schema: {
        querystring: Type.Object({
          ...PageQuery,
          agentId: Type.Optional(Type.String()),
          status: Type.Optional(HandoverStatus),
          kind: Type.Optional(HandoverKind),
        }),
        response: { 200: ListOf(HandoverView) },
      },
    },
    async (request) => {
      const { limit = 100, agentId, status, kind } = request.query;
      const after = decodeCursor(request.query.cursor);
      let query = db
        .selectFrom('handovers')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (after) query = query.where('id', '>', after);
      if (agentId) query = query.where('agent_id', '=', agentId);
      if (status) query = query.where('status', '=', status as never);
      if (kind) query = query.where('kind', '=', kind as never);
      const actor = request.actor;
      // Admins see their office's handovers; plain agents get 403, as on every admin list.
      requireAnyAdmin(actor);
      if (actor.kind === 'agent') query = query.where('office_id', '=', actor.agent.office_id);
      const rows = await query.execute();
      const items = await Promise.all(rows.slice(0, limit).map((row) => view(deps, row, false)));
      return { ...page(rows, limit, (r) => r), items };
    },
  );

  app.post(
    '/v1/handovers/:id/cancel',
    { schema: { params: IdParams, response: { 202: HandoverView } } },
    async (request, reply) => {
      const row = await loadForAction(deps, request.actor, request.params.id, 'cancel');
      if (row.status !== 'running' && row.status !== 'blocked') {
        throw conflict(`handover ${row.id} is already ${row.status}; there is nothing to cancel`);
      }
      await temporal.workflow.getHandle(row.id).cancel();
      // The status stays what it is until compensation ends; the phase says it has begun.
      return reply.status(202).send({ ...(await view(deps, row, false)), phase: 'compensating' });
    },
  );

  app.post(
    '/v1/handovers/:id/recheck',
    { schema: { params: IdParams, response: { 202: HandoverView } } },
    async (request, reply) => {
      const row = await loadForAction(deps, request.actor, request.params.id, 'recheck');
      if (row.status !== 'running' && row.status !== 'blocked') {
        throw conflict(`handover ${row.id} is already ${row.status}; there is nothing to re-check`);
      }
      await temporal.workflow.getHandle(row.id).signal(recheckSignal);
      return reply.status(202).send(await view(deps, row, false));
    },
  );
}
