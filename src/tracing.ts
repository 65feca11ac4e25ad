/**
 * Tracing through @temporalio/interceptors-opentelemetry, switched on by the usual OpenTelemetry
 * environment variables: OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns
 * it on, OTEL_TRACES_EXPORTER=none off, OTEL_SERVICE_NAME names the process; spans go over
 * OTLP/HTTP. The API's workflow starts, the workflows and their activities join one trace.
 */
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
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
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || defaultName });
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
    sinks: {
      // The resource only rides on the spans, back to our own (2.x) processor.
      exporter: makeWorkflowExporter(workflowSpans(tracing.processor), tracing.resource as never),
    } as unknown as Sinks,
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
  };
}

/**
 * Where the workflows' spans go. @temporalio/interceptors-opentelemetry 1.24 still makes them with
 * OpenTelemetry 1 inside the workflow sandbox (its 2.x sibling, interceptors-opentelemetry-v2, is
 * pinned to @temporalio 1.23) and hands them over in that shape: `parentSpanId` and
 * `instrumentationLibrary`, where the 2.x SDK's processor and OTLP exporter read `parentSpanContext`
 * and `instrumentationScope` (without them the exporter throws, and the whole batch, the worker's
 * activity spans too, is lost).
 */
function workflowSpans(processor: SpanProcessor): Parameters<typeof makeWorkflowExporter>[0] {
  return {
    onStart: () => undefined,
    onEnd(span) {
      const { parentSpanId, instrumentationLibrary, ...rest } = span;
      const { traceId, traceFlags } = span.spanContext();
      const v2: ReadableSpan = {
        ...rest,
        resource: span.resource as unknown as ReadableSpan['resource'],
        instrumentationScope: instrumentationLibrary,
        parentSpanContext: parentSpanId ? { traceId, spanId: parentSpanId, traceFlags } : undefined,
      };
      processor.onEnd(v2);
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}
