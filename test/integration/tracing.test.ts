/**
 * Tracing is switched on by the usual OpenTelemetry variables: with OTEL_EXPORTER_OTLP_ENDPOINT
 * pointing at a collector (here an OTLP/HTTP receiver on loopback), the API's workflow start, the
 * handover workflow and its activities arrive as spans of one trace.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createHandoverEnv, type HandoverEnv, seedBook, waitFor } from '../helpers/handover-env';
import { offboard, seedTeam } from '../helpers/offboard-api';
import { killAllServices, postHandover, spawnService } from '../helpers/processes';
import { temporalAddress } from '../helpers/temporal';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

let env: HandoverEnv;
let collector: Server;
const spans: Span[] = [];
let apiUrl: string;

beforeAll(async () => {
  env = await createHandoverEnv('tracing');
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const { resourceSpans } = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{
              spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }>;
            }>;
          }>;
        };
        for (const r of resourceSpans) {
          const service = r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const s of r.scopeSpans) for (const span of s.spans) spans.push({ ...span, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const otel = {
    ...env.env,
    DATABASE_URL: env.database.url,
    TEMPORAL_ADDRESS: temporalAddress(),
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  };
  const worker = spawnService(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], otel);
  const api = spawnService(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], { ...otel, PORT: '0' });
  await worker.waitFor(/worker polling/);
  apiUrl = (await api.waitFor(/API listening on (http:\/\/\S+)/))[1]!;
}, 120_000);
afterAll(async () => {
  await killAllServices();
  await new Promise((resolve) => collector?.close(resolve));
  await env?.close();
});

test('a handover started through the API is one trace: the start, the workflow and its activities', async () => {
  const team = await seedTeam(env);
  await seedBook(env.db, team.office, team.leaver, 5, 1);
  const posted = await postHandover(apiUrl, offboard(team.leaver, { agentId: team.successor }));
  expect(posted.status).toBe(202);
  const { id } = posted.body;
  expect(await env.temporal.client.workflow.getHandle(id).result()).toMatchObject({ status: 'completed' });

  const started = await waitFor('the start span of the API', async () =>
    spans.find((s) => s.name === 'StartWorkflow:handoverWorkflow' && s.service === 'handover-api'),
  );
  // Spans arrive in export batches: wait for the last activity's too, not only the move's.
  const trace = await waitFor('the workflow, its move and its settle in the same trace', async () => {
    const same = spans.filter((s) => s.traceId === started.traceId);
    // The workflow's spans (it schedules each activity) and the worker's (it runs each one).
    return same.some((s) => s.name === 'StartActivity:move') &&
      same.some((s) => s.name === 'RunActivity:move' && s.service === 'handover-worker') &&
      same.some((s) => s.name === 'RunActivity:settle')
      ? same
      : undefined;
  });
  expect(trace.map((s) => s.name)).toEqual(expect.arrayContaining(['RunActivity:validate', 'RunActivity:settle']));
  // Parents cross over too: the worker runs the move under the workflow's span that scheduled it,
  // and that one (made in the workflow sandbox) has its own parent in the trace.
  const span = (name: string) => trace.find((s) => s.name === name)!;
  expect(span('RunActivity:move').parentSpanId).toBe(span('StartActivity:move').spanId);
  const parent = span('StartActivity:move').parentSpanId;
  expect(parent).toBeTruthy();
  const scheduler = await waitFor('the parent of the workflow span that scheduled the move', async () =>
    spans.find((s) => s.spanId === parent),
  );
  expect(scheduler).toMatchObject({ traceId: started.traceId, name: 'RunWorkflow:handoverWorkflow' });
});
