/**
 * `GET /metrics` (Prometheus text format) for an operator to scrape: this instance's request
 * latencies by route, and the service's state read from the database at scrape time (so every
 * API instance answers the same figures): handovers started and finished, entities moved, ledger
 * rows still to move, mails waiting or failed. Counts only, never names or addresses.
 */
import { sql } from 'kysely';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiDeps, App } from '../app';

export async function metricsRoutes(app: App, { db }: ApiDeps) {
  const registry = new Registry();
  const latency = new Histogram({
    name: 'handover_http_request_duration_seconds',
    help: 'HTTP request latency of this API instance, by route (the route pattern, never the raw URL)',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    latency.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // Database figures: absolute values set at each scrape (rows are never deleted, so the totals only grow).
  const started = new Counter({
    name: 'handover_handovers_started_total',
    help: 'Handovers started, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const finished = new Counter({
    name: 'handover_handovers_finished_total',
    help: 'Handovers finished, by kind and status (completed, cancelled, compensated, failed)',
    labelNames: ['kind', 'status'],
    registers: [registry],
  });
  const current = new Gauge({
    name: 'handover_handovers_open',
    help: 'Handovers running or blocked now, by kind and status',
    labelNames: ['kind', 'status'],
    registers: [registry],
  });
  const moved = new Counter({
    name: 'handover_entities_moved_total',
    help: 'Entities moved by handovers and not reverted, by entity (customer, record, callback)',
    labelNames: ['entity'],
    registers: [registry],
  });
  const toMove = new Gauge({
    name: 'handover_ledger_rows_to_move',
    help: 'Ledger rows of running handovers not applied yet',
    registers: [registry],
  });
  const outbox = new Gauge({
    name: 'handover_outbox_mails',
    help: 'Mails in the outbox waiting to be sent (pending) or given up on (failed)',
    labelNames: ['status'],
    registers: [registry],
  });

  async function readDatabase() {
    const [byKind, entities, ledger, mails] = await Promise.all([
      sql<{ kind: string; status: string; count: number; finished: number }>`
        select kind, status, count(*) as count, count(finished_at) as finished from handovers group by kind, status`.execute(
        db,
      ),
      // Finished handovers from their summary, running ones from their ledger: bounded by the work in flight.
      sql<{ entity: string; count: number }>`
        select entity, sum(n) as count from (
          select e.entity, coalesce((h.summary ->> e.field)::bigint, 0) as n
            from handovers h cross join (values ('customer', 'customers'), ('record', 'records'), ('callback', 'callbacks')) as e(entity, field)
           where h.finished_at is not null
          union all
          select m.entity, count(*) from handover_moves m join handovers h on h.id = m.handover_id
           where h.finished_at is null and m.entity <> 'agent' and m.applied_at is not null and m.reverted_at is null
           group by m.entity) as all_moves
        group by entity`.execute(db),
      sql<{ count: number }>`
        select count(*) as count from handover_moves m join handovers h on h.id = m.handover_id
         where h.status in ('running', 'blocked') and m.applied_at is null and m.conflict is null`.execute(db),
      sql<{ status: string; count: number }>`
        select status, count(*) as count from notification_outbox where status in ('pending', 'failed') group by status`.execute(
        db,
      ),
    ]);
    started.reset();
    finished.reset();
    current.reset();
    for (const row of byKind.rows) {
      started.inc({ kind: row.kind }, Number(row.count));
      if (Number(row.finished) > 0) finished.inc({ kind: row.kind, status: row.status }, Number(row.finished));
      if (row.status === 'running' || row.status === 'blocked') {
        current.set({ kind: row.kind, status: row.status }, Number(row.count));
      }
    }
    moved.reset();
    for (const entity of ['customer', 'record', 'callback']) {
      const n = Number(entities.rows.find((r) => r.entity === entity)?.count ?? 0);
      moved.inc({ entity }, n);
    }
    toMove.set(Number(ledger.rows[0]?.count ?? 0));
    outbox.reset();
    for (const status of ['pending', 'failed']) {
      outbox.set({ status }, Number(mails.rows.find((r) => r.status === status)?.count ?? 0));
    }
  }

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    await readDatabase();
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
