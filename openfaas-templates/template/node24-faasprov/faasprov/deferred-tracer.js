'use strict'
// Takes the OpenTelemetry SDK's span work off the requests' critical path. The tracers handed out
// here (to the shim for the server span, to the official http and undici instrumentations for the
// client spans) decide a span's identity at once (ids; sampled as the SDK's parent-based always-on
// sampler would) and return a DeferredSpan that records what is done to it. Ended spans are
// queued and replayed on the real SDK (same ids, through PresetIdGenerator; same times; same calls
// in the same order) only after an invocation's response was written, once REPLAY_BATCH wait, or
// by an unref'd timer while no invocation runs (a few spans, or spans that end outside any
// invocation).

const { INVALID_SPAN_CONTEXT, TraceFlags, context, trace } = require('@opentelemetry/api')
const { isTracingSuppressed } = require('@opentelemetry/core')
const { RandomIdGenerator } = require('@opentelemetry/sdk-trace')
const { DeferredSpan } = require('./deferred-span')
const { warnOnce } = require('./warn')

/** How long a span may wait for its replay while no invocation runs. */
const IDLE_FLUSH_MS = 200
/**
 * Replayed together, spans cost the SDK less each: one at a time, after every response, each
 * replay ran on cold caches. 48 is 16 checkouts of the benchmark's shop (three spans each).
 */
const REPLAY_BATCH = 48
/** Ended spans waiting for their replay; past this, spans are dropped (counted), as the processor would. */
const MAX_QUEUED = 4096

/** The SDK's id generator: the ids a DeferredSpan was given, once, else random ids as the SDK's default. */
class PresetIdGenerator {
  constructor () {
    this.random = new RandomIdGenerator()
    this.traceId = undefined
    this.spanId = undefined
  }

  preset (traceId, spanId) { this.traceId = traceId; this.spanId = spanId }
  clear () { this.traceId = undefined; this.spanId = undefined }

  generateTraceId () {
    const id = this.traceId
    if (id === undefined) return this.random.generateTraceId()
    this.traceId = undefined
    return id
  }

  generateSpanId () {
    const id = this.spanId
    if (id === undefined) return this.random.generateSpanId()
    this.spanId = undefined
    return id
  }
  /** tracer.startSpan with the ids `sc` announced; throws if the SDK made others. */
  startSpan (tracer, name, options, ctx, sc) {
    this.preset(sc.traceId, sc.spanId)
    let span
    try {
      span = tracer.startSpan(name, options, ctx)
    } finally {
      this.clear()
    }
    const got = span.spanContext()
    if (got.spanId !== sc.spanId || got.traceId !== sc.traceId) throw new Error(`the SDK gave the span other ids (${got.traceId}-${got.spanId}, not ${sc.traceId}-${sc.spanId})`)
    return span
  }
}

class DeferredSpans {
  /**
   * `provider`: the SDK's tracer provider; `tracker`: the concurrency tracker, if any;
   * `afterFlush`: called after each replay (the span processor's export runs from there).
   */
  constructor ({ provider, ids, tracker, afterFlush }) {
    this.provider = provider
    this.afterFlush = afterFlush
    this.ids = ids
    this.tracker = tracker
    this.random = ids.random
    this.queue = []
    this.inflight = 0
    this.flushScheduled = false
    this.idleTimer = undefined
    this.replayed = 0
    this.failed = 0
    this.dropped = 0
    this.flushNow = () => this.flush()
    this.onIdle = () => { this.idleTimer = undefined; if (this.inflight === 0) this.flush() }
  }

  /** A TracerProvider whose tracers defer (what instrumentations are given). */
  tracerProvider () {
    return { getTracer: (name, version, options) => this.getTracer(name, version, options) }
  }

  getTracer (name, version, options) {
    let real
    const realTracer = () => real || (real = this.provider.getTracer(name, version, options))
    return new DeferredTracer(this, realTracer)
  }

  push (span) {
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++
      warnOnce('span-queue', `more than ${MAX_QUEUED} ended spans wait to be recorded; spans are dropped (counted)`)
      return
    }
    this.queue.push(span)
    if (this.inflight === 0 && !this.flushScheduled && this.idleTimer === undefined) this.outside(() => { this.idleTimer = setTimeout(this.onIdle, IDLE_FLUSH_MS); this.idleTimer.unref() })
  }

  /**
   * A new span's identity under `ctx` (a child of its span, unless `root`), as the SDK would decide
   * it: new random ids, sampled as its parent-based always-on sampler (the parent's decision, else
   * sampled); undefined where tracing is suppressed (the SDK makes no span there).
   */
  identity (ctx, root) {
    if (isTracingSuppressed(ctx)) return undefined
    const parent = root ? undefined : trace.getSpanContext(ctx)
    const random = this.random
    const spanId = random.generateSpanId()
    if (parent && trace.isSpanContextValid(parent)) {
      return { traceId: parent.traceId, spanId, traceFlags: parent.traceFlags & TraceFlags.SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE, traceState: parent.traceState }
    }
    return { traceId: random.generateTraceId(), spanId, traceFlags: TraceFlags.SAMPLED, traceState: undefined }
  }

  /** An invocation starts: nothing is replayed until it has answered. */
  enter () { this.inflight++ }

  /**
   * An invocation's response was written: replay what ended right after this callback once a
   * batch waits, else within IDLE_FLUSH_MS while no invocation runs (or after a later response).
   */
  leave () {
    this.inflight--
    if (this.queue.length === 0 || this.flushScheduled) return
    if (this.queue.length < REPLAY_BATCH) {
      if (this.idleTimer === undefined) this.outside(() => { this.idleTimer = setTimeout(this.onIdle, IDLE_FLUSH_MS); this.idleTimer.unref() })
      return
    }
    this.flushScheduled = true
    this.outside(() => setImmediate(this.flushNow))
  }

  outside (fn) { return this.tracker ? this.tracker.outside(fn) : fn() }

  /** Replays every queued span on the SDK; a failure is counted and said once. */
  flush () {
    this.flushScheduled = false
    if (this.queue.length === 0) return
    const spans = this.queue
    this.queue = []
    this.outside(() => {
      for (const span of spans) {
        try {
          span.replay(this.ids)
          this.replayed++
        } catch (err) {
          this.failed++
          warnOnce('replay', `recording a span on the OpenTelemetry SDK failed (${err && err.message}); such spans are lost (counted, said once)`)
        }
      }
      if (this.afterFlush) this.afterFlush()
    })
  }
}

class DeferredTracer {
  constructor (spans, realTracer) {
    this._spans = spans
    this._realTracer = realTracer
  }

  startSpan (name, options = {}, ctx = context.active()) {
    const spanContext = this._spans.identity(ctx, options.root)
    if (spanContext === undefined) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
    if ((spanContext.traceFlags & TraceFlags.SAMPLED) === 0) return trace.wrapSpanContext(spanContext)
    return new DeferredSpan(this._spans, this._realTracer, name, options, options.root ? trace.deleteSpan(ctx) : ctx, spanContext)
  }

  startActiveSpan (name, arg2, arg3, arg4) {
    let opts, ctx, fn
    if (arguments.length < 2) return
    if (arguments.length === 2) fn = arg2
    else if (arguments.length === 3) { opts = arg2; fn = arg3 } else { opts = arg2; ctx = arg3; fn = arg4 }
    const parent = ctx ?? context.active()
    const span = this.startSpan(name, opts, parent)
    return context.with(trace.setSpan(parent, span), fn, undefined, span)
  }
}

module.exports = { DeferredSpans, DeferredTracer, PresetIdGenerator }
