'use strict'
// The node24-faasprov wrapper: of-watchdog (mode=http) forwards each request to this server, which
// runs the function's handler with the same event and context as OpenFaaS's node templates, inside
// the faasprov shim (invocation markers, call id, trace context, OpenTelemetry spans).

const faasprov = require('./faasprov') // first: instruments http before anything loads it
const http = require('node:http')
const express = require('express')
const bodyParser = require('body-parser')
const handler = require('./function/handler')

const app = express()
app.disable('x-powered-by')

const rawLimit = process.env.MAX_RAW_SIZE || '100kb'
const jsonLimit = process.env.MAX_JSON_SIZE || '100kb'

// Without a content type the body would be left unparsed: read it as text, as OpenFaaS does.
app.use((req, res, next) => {
  if (!req.headers['content-type']) req.headers['content-type'] = 'text/plain'
  next()
})
if (process.env.RAW_BODY === 'true') {
  app.use(bodyParser.raw({ type: '*/*', limit: rawLimit }))
} else {
  app.use(bodyParser.text({ type: 'text/*' }))
  app.use(bodyParser.json({ limit: jsonLimit }))
  app.use(bodyParser.urlencoded({ extended: true }))
}

class FunctionEvent {
  constructor (req) {
    this.body = req.body
    this.headers = req.headers
    this.method = req.method
    this.query = req.query
    this.path = req.path
  }
}

class FunctionContext {
  constructor (done) {
    this.statusCode = 200
    this.headerValues = {}
    this.done = done
    this.cbCalled = 0
  }

  status (code) {
    if (!code) return this.statusCode
    this.statusCode = code
    return this
  }

  headers (values) {
    if (!values) return this.headerValues
    this.headerValues = values
    return this
  }

  succeed (value) {
    this.cbCalled++
    this.done(undefined, value)
  }

  fail (err) {
    if (Number(this.status()) === 200) this.status(500)
    this.cbCalled++
    this.done(err)
  }
}

const isPlainObjectOrArray = (v) => !!v && (v.constructor === Object || v.constructor === Array)

app.use(async (req, res) => {
  const fnContext = new FunctionContext((err, result) => {
    if (res.headersSent) return
    if (err) {
      console.error(err)
      res.status(fnContext.status()).send(err.toString ? err.toString() : err)
      return
    }
    res.set(fnContext.headers()).status(fnContext.status())
    res.send(isPlainObjectOrArray(result) ? JSON.stringify(result) : result)
  })
  try {
    const result = await handler(new FunctionEvent(req), fnContext, fnContext.done)
    if (!fnContext.cbCalled) fnContext.succeed(result)
  } catch (err) {
    fnContext.fail(err)
  }
})

const port = Number(process.env.http_port || 3000)
const server = http.createServer(faasprov.wrap(app))
server.listen(port, process.env.http_host || '127.0.0.1', () => {
  console.log(`node24-faasprov listening on port: ${server.address().port}`)
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close()
    faasprov.shutdown().finally(() => process.exit(0))
  })
}
