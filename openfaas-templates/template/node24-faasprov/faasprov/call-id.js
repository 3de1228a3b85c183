'use strict'
// The invocation's call id travels in the OpenTelemetry context, so that the same propagator that
// writes `traceparent` into every outgoing request (http, https, fetch) writes `X-Call-Id` too.

const { createContextKey } = require('@opentelemetry/api')

const CALL_ID_KEY = createContextKey('faasprov call id')
const HEADER = 'x-call-id'

class CallIdPropagator {
  inject (ctx, carrier, setter) {
    const id = ctx.getValue(CALL_ID_KEY)
    if (typeof id === 'string') setter.set(carrier, 'X-Call-Id', id)
  }

  extract (ctx, carrier, getter) {
    let v = getter.get(carrier, HEADER)
    if (Array.isArray(v)) v = v[0]
    return typeof v === 'string' && v !== '' ? ctx.setValue(CALL_ID_KEY, v) : ctx
  }

  fields () { return ['X-Call-Id'] }
}

module.exports = { CALL_ID_KEY, CallIdPropagator }
