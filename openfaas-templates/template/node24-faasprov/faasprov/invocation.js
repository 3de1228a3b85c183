'use strict'
// One invocation per HTTP request: its call id, its begin marker before the body is read, its server
// span with the FaaS conventions, and its end marker once the response has been handed to the OS.

const { randomUUID } = require('node:crypto')
const { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } = require('@opentelemetry/api')
const { CALL_ID_KEY } = require('./call-id')
const { CALL_ID } = require('./markers')
const { warnOnce } = require('./warn')

/** faas.trigger values of the semantic conventions; the faasprov gateway names async calls "pubsub". */
const TRIGGERS = new Set(['datasource', 'http', 'pubsub', 'timer', 'other'])

function headerValue (req, name) {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/**
 * Returns a request listener that runs `app` inside the invocation. `tracker` (optional) is told
 * which call id each request belongs to, for switch markers when requests interleave.
 */
function invocationListener ({ app, markers, tracer, spans, functionName, tracker }) {
  let cold = true
  return function onRequest (req, res) {
    const given = headerValue(req, 'x-call-id')
    let callId = given
    if (typeof given !== 'string' || !CALL_ID.test(given)) {
      if (given !== undefined) warnOnce('bad-call-id', `a request's X-Call-Id is not 1-128 printable characters; a new call id replaces it (said once)`)
      callId = randomUUID()
      req.headers['x-call-id'] = callId
    }
    // Before anything reads the body: the body's reads belong to the invocation.
    markers.begin(callId)
    if (spans) spans.enter()
    res.setHeader('X-Call-Id', callId)

    const coldstart = cold
    cold = false
    const triggerHeader = headerValue(req, 'x-faasprov-trigger')
    const trigger = TRIGGERS.has(triggerHeader) ? triggerHeader : 'http'
    const parent = propagation.extract(ROOT_CONTEXT, req.headers)
    const path = (req.url || '/').split('?')[0]
    const span = tracer.startSpan(functionName || 'function', {
      kind: SpanKind.SERVER,
      attributes: {
        'faas.invocation_id': callId,
        'faas.trigger': trigger,
        'faas.coldstart': coldstart,
        ...(functionName ? { 'faas.name': functionName } : {}),
        'faasprov.call_id.minted': callId !== given,
        'http.request.method': req.method,
        'url.path': path,
        'network.protocol.version': req.httpVersion
      }
    }, parent)
    const ctx = trace.setSpan(parent, span).setValue(CALL_ID_KEY, callId)

    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      try {
        span.setAttribute('http.response.status_code', res.statusCode)
        if (!res.writableFinished) span.setAttribute('faasprov.response.aborted', true)
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
        span.end()
      } catch (err) {
        warnOnce('span-end', `ending an invocation's span failed (${err.message})`)
      }
      if (!tracker) markers.end(callId)
      else {
        try {
          tracker.finish(callId, () => markers.end(callId))
        } catch (err) {
          warnOnce('finish', `the end marker could not wait for the invocation's pool work (${err.message})`)
          markers.end(callId)
        }
      }
      // The SDK's span work runs now, after the response was written (deferred-tracer.js).
      if (spans) spans.leave()
    }
    // 'finish': the last byte went to the socket; 'close' alone: the client went away first.
    res.once('finish', end)
    res.once('close', end)
    const run = () => context.with(ctx, () => app(req, res))
    if (tracker) tracker.enter(callId, run)
    else run()
  }
}

module.exports = { invocationListener }
