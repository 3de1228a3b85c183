'use strict'
// OpenTelemetry for the function: the Node SDK, spans sent over OTLP/HTTP (protobuf) to the node's
// faasprov agent, http/https and fetch (undici) instrumented so that every outgoing call carries
// `traceparent` and `X-Call-Id` (fetch by fetch-tracing.js, or by the official undici
// instrumentation with FAASPROV_FETCH_TRACING=official). Must run before the function's code loads
// http or undici.

const os = require('node:os')
const { propagation, trace } = require('@opentelemetry/api')
const { CompositePropagator, W3CTraceContextPropagator } = require('@opentelemetry/core')
const { NodeSDK } = require('@opentelemetry/sdk-node')
const { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler } = require('@opentelemetry/sdk-trace')
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto')
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http')
const { resourceFromAttributes } = require('@opentelemetry/resources')
const { CallIdPropagator } = require('./call-id')
const { DeferredSpans, PresetIdGenerator } = require('./deferred-tracer')
const { fetchTracingMode, startFetchTracing } = require('./fetch-tracing')
const { GuardedExporter } = require('./guarded-exporter')
const { warnOnce } = require('./warn')

const DEFAULT_TRACES_URL = 'http://127.0.0.1:4318/v1/traces'
/**
 * How often spans are exported (OTEL_BSP_SCHEDULE_DELAY, ms): right after a response (replays,
 * then export) at most this often, and by the processor's own timer after this long without one.
 * 2000 rather than the specification's 5000, so spans join the graph within about two seconds;
 * every 500 ms (until 2026-12-01) cost the shop's checkout about 3% more latency (template-lab):
 * each export wakes the exporter, the relay and the agent whatever it holds.
 */
const DEFAULT_EXPORT_DELAY_MS = 2000

/** OTEL_BSP_SCHEDULE_DELAY when it is a whole number of ms (1 to 3600000), else the default, said once. */
function exportDelayMs (env = process.env) {
  const v = env.OTEL_BSP_SCHEDULE_DELAY
  if (v === undefined || v.trim() === '') return DEFAULT_EXPORT_DELAY_MS
  const n = Number(v)
  if (Number.isInteger(n) && n >= 1 && n <= 3600000) return n
  warnOnce('export-delay', `OTEL_BSP_SCHEDULE_DELAY=${JSON.stringify(v.slice(0, 40))} is not a whole number of ms from 1 to 3600000; spans are exported every ${DEFAULT_EXPORT_DELAY_MS} ms`)
  return DEFAULT_EXPORT_DELAY_MS
}

/** The standard variables: the per-signal URL as is, else the base URL with /v1/traces. */
function tracesUrl (env = process.env) {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '') + '/v1/traces'
  return DEFAULT_TRACES_URL
}

/** The processor's export timer must not belong to the invocation whose span ended last. */
function outsideInvocations (processor, tracker) {
  if (!tracker) return processor
  return {
    onStart: (span, ctx) => processor.onStart(span, ctx),
    onEnd: (span) => tracker.outside(() => processor.onEnd(span)),
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown()
  }
}

function startTelemetry ({ functionName, namespace, tracker }) {
  const url = tracesUrl()
  // The agent takes traces only: no metrics or logs pipelines unless the function asks for them.
  process.env.OTEL_METRICS_EXPORTER ??= 'none'
  process.env.OTEL_LOGS_EXPORTER ??= 'none'
  const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new CallIdPropagator()] })
  const exporter = new GuardedExporter(new OTLPTraceExporter({ url, timeoutMillis: 2000 }), url)
  // Spans are made deferred (deferred-tracer.js): the SDK gets their pre-assigned ids through this
  // generator, and samples as the deferred tracers decided (parent-based, always on; explicit, so
  // OTEL_TRACES_SAMPLER does not apply).
  const ids = new PresetIdGenerator()
  // One of the two fetch tracers, never both (each would inject its own traceparent).
  const fetchMode = fetchTracingMode(process.env, (m) => warnOnce('fetch-tracing', m))
  const instrumentations = [
    // The shim makes the invocation's server span itself (it knows the call id and the FaaS facts).
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true })
  ]
  if (fetchMode === 'official') {
    const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici')
    instrumentations.push(new UndiciInstrumentation())
  }
  const delay = exportDelayMs()
  const processor = new BatchSpanProcessor({ exporter, maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: delay })
  // The export's own work (serialising, the request to the agent) right after a response too,
  // rather than on a timer that fires in the middle of a request.
  let lastExport = 0
  const exportNow = () => {
    const now = Date.now()
    if (now - lastExport < delay) return
    lastExport = now
    processor.forceFlush().catch(() => { /* said by GuardedExporter */ })
  }
  let sdk
  let spans
  try {
    const attributes = { 'service.name': functionName || 'faasprov-function', 'host.name': os.hostname() }
    if (functionName) attributes['faas.name'] = functionName
    if (namespace) attributes['service.namespace'] = namespace
    sdk = new NodeSDK({
      resource: resourceFromAttributes(attributes),
      autoDetectResources: false,
      textMapPropagator: propagator,
      // Bounded: a slow agent makes spans drop (counted by the processor), never requests wait.
      spanProcessors: [outsideInvocations(processor, tracker)],
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      idGenerator: ids,
      instrumentations
    })
    sdk.start()
    spans = new DeferredSpans({ provider: trace.getTracerProvider(), ids, tracker, afterFlush: exportNow })
    const deferring = spans.tracerProvider()
    for (const i of instrumentations) i.setTracerProvider(deferring)
  } catch (err) {
    warnOnce('sdk', `OpenTelemetry could not start (${err.message}); no spans will be sent`)
    sdk = undefined
    spans = undefined
    propagation.setGlobalPropagator(propagator)
  }
  // Without the SDK, the headers still (as the official instrumentation does on a no-op API).
  if (fetchMode === 'lean') startFetchTracing(spans)
  const tracer = spans ? spans.getTracer('faasprov-template-node24', '1.0.0') : trace.getTracer('faasprov-template-node24', '1.0.0')
  return {
    tracer,
    spans,
    fetchMode,
    exporter,
    url,
    async shutdown () {
      if (!sdk) return
      spans.flush()
      if (spans.failed > 0 || spans.dropped > 0) process.stderr.write(`faasprov: ${spans.failed + spans.dropped} spans were lost before the SDK (${spans.failed} failed replays, ${spans.dropped} over the queue's bound)\n`)
      await sdk.shutdown().catch(() => {})
    }
  }
}

module.exports = { startTelemetry, tracesUrl, exportDelayMs, DEFAULT_TRACES_URL, DEFAULT_EXPORT_DELAY_MS }
