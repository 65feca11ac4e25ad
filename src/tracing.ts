/**
 * Tracing through @temporalio/interceptors-opentelemetry, switched on by the usual OpenTelemetry
 * environment variables: OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns
 * it on, OTEL_TRACES_EXPORTER=none off, OTEL_SERVICE_NAME names the process; spans go over
 * OTLP/HTTP. The API's workflow starts, the workflows and their activities join one trace.
 */
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';

/**
 * Bundled with the workflow code always (a bundle is built once, before anyone knows whether a
 * worker will trace): without a tracing sink its spans go nowhere.
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

export interface Tracing {
  processor: SpanProcessor;
  resource: Resource;
  shutdown(): Promise<void>;
}

export function tracingFromEnv(defaultName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME || defaultName });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter());
  // The Node provider also installs the async context manager and the W3C propagator, so a span
  // started around a call is the parent of what the call sends (headers of the workflow start).
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  return { processor, resource, shutdown: () => provider.shutdown() };
}

/** The client interceptors of a process that starts workflows (the API). */
export const clientTracing = (tracing: Tracing | undefined): WorkflowClientInterceptor[] =>
  tracing ? [new OpenTelemetryWorkflowClientInterceptor()] : [];

type Sinks = InjectedSinks<{ exporter: { export(spans: unknown[]): void } }>;

/** What a worker adds to its options: activity interceptors and the sink workflow spans leave by. */
export function workerTracing(tracing: Tracing | undefined): Pick<WorkerOptions, 'sinks'> & {
  activity: NonNullable<NonNullable<WorkerOptions['interceptors']>['activity']>;
} {
  if (!tracing) {
    const dropped: Sinks = { exporter: { export: { fn: () => undefined, callDuringReplay: false } } };
    return { sinks: dropped, activity: [] };
  }
  return {
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) } as unknown as Sinks,
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
  };
}
