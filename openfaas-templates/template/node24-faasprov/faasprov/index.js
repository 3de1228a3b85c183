'use strict'
// The faasprov shim. index.js loads it before anything else, so that the OpenTelemetry
// instrumentations patch http, https and undici before the function's code uses them.
// FAASPROV_SHIM=off leaves the function as the plain template would run it (for comparisons).

const { FUNCTION_NAME } = require('./markers')
const { warnOnce } = require('./warn')

/** The function's name: ours, then what OpenFaaS sets in a function's pod, then OpenTelemetry's. */
function functionNameFrom (env = process.env) {
  for (const v of [env.FAASPROV_FUNCTION, env.OPENFAAS_NAME, env.OTEL_SERVICE_NAME]) {
    if (v && FUNCTION_NAME.test(v)) return v
  }
  return undefined
}

function startShim () {
  const { Markers } = require('./markers')
  const { startTelemetry } = require('./telemetry')
  const { invocationListener } = require('./invocation')
  const { SwitchTracker, concurrencyWanted } = require('./concurrency')
  const functionName = functionNameFrom()
  const markers = new Markers(functionName)
  // Before anything can start libuv's thread pool (the tracker sizes it).
  const tracker = concurrencyWanted() ? new SwitchTracker(markers).start() : undefined
  const telemetry = startTelemetry({ functionName, namespace: process.env.OPENFAAS_NAMESPACE, tracker })
  return {
    enabled: true,
    functionName,
    markers,
    telemetry,
    tracker,
    wrap: (app) => invocationListener({ app, markers, tracer: telemetry.tracer, spans: telemetry.spans, functionName, tracker }),
    async shutdown () {
      try { await telemetry.shutdown() } catch (err) { warnOnce('shutdown', `telemetry shutdown failed (${err.message})`) }
    }
  }
}

module.exports = process.env.FAASPROV_SHIM === 'off'
  ? { enabled: false, functionName: functionNameFrom(), wrap: (app) => app, shutdown: async () => {} }
  : startShim()
