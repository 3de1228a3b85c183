'use strict'
// fetch (undici) tracing that costs the request's critical path as little as it can
// (FAASPROV_FETCH_TRACING=lean, the default). It subscribes to undici's diagnostics channels as
// @opentelemetry/instrumentation-undici does, but on the path it only gives the client span its
// identity (DeferredSpans: a child of the active span, sampled as the SDK would), injects the global
// propagator's headers (traceparent, tracestate, X-Call-Id) and keeps the raw facts (method, origin,
// path, times, peer, status, error). The URL parsing, the semantic-convention attributes, status,
// error.type and the exception are made when the span is replayed, after the response was written,
// so that the exported span is the one the official instrumentation exports (same scope, name, kind,
// attributes, status, events, times; test/templates.test.ts compares them).

const dc = require('node:diagnostics_channel')
const fs = require('node:fs')
const path = require('node:path')
const { INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } = require('@opentelemetry/api')
const { addHrTimes, millisToHrTime } = require('@opentelemetry/core')

/** The official instrumentation's scope, so that both settings export the same spans. */
const SCOPE_NAME = '@opentelemetry/instrumentation-undici'
function scopeVersion () {
  try {
    const main = require.resolve(SCOPE_NAME)
    for (let dir = path.dirname(main); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json')
      if (!fs.existsSync(file)) continue
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
      if (pkg.name === SCOPE_NAME) return pkg.version
    }
  } catch { /* not installed: no version, as a tracer without one */ }
  return undefined
}

const KNOWN_METHODS = new Set(['CONNECT', 'OPTIONS', 'HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'QUERY'])
const SCHEME_PORTS = { https: '443', http: '80' }

/** The official instrumentation's user-agent lookup: the last value of the request's header. */
function userAgentOf (headers) {
  let found
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      const key = headers[i]
      if (typeof key === 'string' && key.toLowerCase() === 'user-agent') found = headers[i + 1]
    }
  } else if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':')
      if (colon !== -1 && line.substring(0, colon).toLowerCase() === 'user-agent') found = line.substring(colon + 1).trim()
    }
  }
  return found
}

/**
 * The URL attributes of a request's origin and path, parsed once per distinct pair (a function
 * calls the same few URLs again and again); at most URL_CACHE_MAX pairs, then it starts afresh.
 */
const URL_CACHE_MAX = 256
const urlCache = new Map()
function urlFacts (origin, path) {
  const key = origin + '\n' + path
  let facts = urlCache.get(key)
  if (facts !== undefined) return facts
  const url = new URL(path, origin)
  const scheme = url.protocol.replace(':', '')
  const port = url.port || SCHEME_PORTS[scheme]
  facts = {
    full: url.toString(),
    path: url.pathname,
    query: url.search,
    scheme,
    address: url.hostname,
    port: port && !isNaN(Number(port)) ? Number(port) : undefined
  }
  if (urlCache.size >= URL_CACHE_MAX) urlCache.clear()
  urlCache.set(key, facts)
  return facts
}

/** One fetch's client span: raw facts recorded on the path, the SDK span made at replay. */
class FetchSpan {
  constructor (tracer, ctx, spanContext, request) {
    this._tracer = tracer
    this._ctx = ctx
    this._spanContext = spanContext
    this.method = request.method
    this.origin = request.origin
    this.path = request.path
    this.headers = request.headers // read (user-agent) at replay
    this.wallStart = Date.now()
    this.perfStart = performance.now()
    this.perfEnd = 0
    this.peerAddress = undefined
    this.peerPort = undefined
    this.alpn = undefined
    this.sentHeaders = false
    this.status = undefined
    this.error = undefined
    this.perfError = 0
  }

  /** The SDK span's times, as a DeferredSpan takes them: wall clock at start, monotonic after. */
  _time (start, perf) { return addHrTimes(start, millisToHrTime(perf - this.perfStart)) }

  /** Makes the SDK span with the pre-assigned ids (through `ids`) and the official instrumentation's calls. */
  replay (ids) {
    const url = urlFacts(this.origin, this.path)
    const upper = this.method.toUpperCase()
    const method = KNOWN_METHODS.has(upper) ? upper : '_OTHER'
    const attributes = {
      'http.request.method': method,
      'http.request.method_original': this.method,
      'url.full': url.full,
      'url.path': url.path,
      'url.query': url.query,
      'url.scheme': url.scheme
    }
    attributes['server.address'] = url.address
    if (url.port !== undefined) attributes['server.port'] = url.port
    const userAgent = userAgentOf(this.headers)
    if (userAgent) attributes['user_agent.original'] = userAgent
    const start = millisToHrTime(this.wallStart)
    const span = ids.startSpan(this._tracer(), method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.CLIENT, attributes, startTime: start }, this._ctx, this._spanContext)
    if (this.sentHeaders) {
      span.setAttributes({
        'network.peer.address': this.peerAddress,
        'network.peer.port': this.peerPort,
        'network.protocol.version': this.alpn === 'h2' ? '2' : '1.1'
      })
    }
    if (this.status !== undefined) {
      const isError = this.status >= 400
      const more = { 'http.response.status_code': this.status }
      if (isError) more['error.type'] = String(this.status)
      span.setAttributes(more)
      span.setStatus({ code: isError ? SpanStatusCode.ERROR : SpanStatusCode.UNSET })
    }
    const error = this.error
    if (error !== undefined && !isAbort(error)) {
      span.setAttribute('error.type', error.code || error.name || 'Error')
      span.recordException(error, this._time(start, this.perfError))
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    }
    span.end(this._time(start, this.perfEnd))
    this._ctx = undefined
    this.headers = undefined
    this.error = undefined
    return span
  }
}

/** As the official instrumentation: addHeader where undici has it (Node's own), else older undici's header forms. */
function addHeader (request, key, value) {
  if (typeof request.addHeader === 'function') request.addHeader(key, value)
  else if (typeof request.headers === 'string') request.headers += `${key}: ${value}\r\n`
  else if (Array.isArray(request.headers)) request.headers.push(key, value)
}

function isAbort (error) {
  return error.name === 'AbortError' || (typeof DOMException !== 'undefined' && error instanceof DOMException && error.code === DOMException.ABORT_ERR)
}

/**
 * Subscribes to undici's channels. `spans`: the DeferredSpans (undefined when the SDK did not
 * start: then only the headers are injected, as the official instrumentation does on a no-op API).
 * Returns a function that unsubscribes.
 */
function startFetchTracing (spans) {
  const records = new WeakMap()
  const version = scopeVersion()
  let real
  const tracer = () => real || (real = spans.provider.getTracer(SCOPE_NAME, version))
  const setter = { set: (carrier, key, value) => { carrier.push(key, String(value)) } }

  const onCreate = ({ request }) => {
    if (request.method === 'CONNECT') return
    const ctx = context.active()
    let spanContext
    if (spans) spanContext = spans.identity(ctx, false)
    const injected = []
    const spanCtx = !spans ? ctx : trace.setSpan(ctx, trace.wrapSpanContext(spanContext ?? INVALID_SPAN_CONTEXT))
    propagation.inject(spanCtx, injected, setter)
    for (let i = 0; i < injected.length; i += 2) addHeader(request, injected[i], injected[i + 1])
    // A sampled span only (an unsampled one, or none where tracing is suppressed, records nothing).
    if (spanContext !== undefined && (spanContext.traceFlags & 1) !== 0) records.set(request, new FetchSpan(tracer, ctx, spanContext, request))
  }
  const onSendHeaders = ({ request, socket }) => {
    const rec = records.get(request)
    if (rec === undefined) return
    rec.sentHeaders = true
    rec.peerAddress = socket.remoteAddress
    rec.peerPort = socket.remotePort
    rec.alpn = socket.alpnProtocol
  }
  const onHeaders = ({ request, response }) => {
    const rec = records.get(request)
    if (rec !== undefined) rec.status = response.statusCode
  }
  const onDone = ({ request }) => {
    const rec = records.get(request)
    if (rec === undefined) return
    records.delete(request)
    rec.perfEnd = performance.now()
    spans.push(rec)
  }
  const onError = ({ request, error }) => {
    const rec = records.get(request)
    if (rec === undefined) return
    records.delete(request)
    rec.perfEnd = rec.perfError = performance.now()
    rec.error = error
    spans.push(rec)
  }
  const subs = [
    ['undici:request:create', onCreate],
    ['undici:client:sendHeaders', onSendHeaders],
    ['undici:request:headers', onHeaders],
    ['undici:request:trailers', onDone],
    ['undici:request:error', onError]
  ]
  for (const [name, fn] of subs) dc.subscribe(name, fn)
  return () => { for (const [name, fn] of subs) dc.unsubscribe(name, fn) }
}

/** FAASPROV_FETCH_TRACING: lean (default) or official; anything else is said and taken as lean. */
function fetchTracingMode (env = process.env, warn = () => {}) {
  const v = env.FAASPROV_FETCH_TRACING
  if (v === undefined || v === '' || v === 'lean') return 'lean'
  if (v === 'official') return 'official'
  warn(`FAASPROV_FETCH_TRACING=${JSON.stringify(v)} is neither lean nor official; fetch is traced the lean way`)
  return 'lean'
}

module.exports = { startFetchTracing, fetchTracingMode, FetchSpan, SCOPE_NAME }
