'use strict'
// Wraps the OTLP exporter so that an absent or broken agent costs the function nothing: the first
// failure is said once, then spans are dropped at once (counted) until a retry after a pause finds
// the agent again.

const { ExportResultCode } = require('@opentelemetry/core')
const { warnOnce } = require('./warn')

const RETRY_AFTER_MS = 30_000

class GuardedExporter {
  constructor (inner, url) {
    this.inner = inner
    this.url = url
    this.downUntil = 0
    this.dropped = 0
    this.exported = 0
    this.failures = 0
  }

  export (spans, done) {
    if (Date.now() < this.downUntil) {
      this.dropped += spans.length
      return done({ code: ExportResultCode.FAILED })
    }
    let answered = false
    const finish = (result) => {
      if (answered) return
      answered = true
      if (result.code === ExportResultCode.SUCCESS) {
        if (this.downUntil !== 0) {
          process.stderr.write(`faasprov: the agent at ${this.url} takes spans again (${this.dropped} dropped while it did not)\n`)
          this.downUntil = 0
        }
        this.exported += spans.length
      } else {
        this.failures++
        this.dropped += spans.length
        const why = result.error ? result.error.message : 'export failed'
        warnOnce('export', `cannot send spans to the agent at ${this.url} (${why}); spans are dropped (counted) and sending is retried every ${RETRY_AFTER_MS / 1000} s`)
        this.downUntil = Date.now() + RETRY_AFTER_MS
      }
      done(result)
    }
    try {
      this.inner.export(spans, finish)
    } catch (err) {
      finish({ code: ExportResultCode.FAILED, error: err })
    }
  }

  async shutdown () {
    try { await this.inner.shutdown() } catch { /* nothing left to do */ }
  }

  async forceFlush () {
    if (Date.now() < this.downUntil || !this.inner.forceFlush) return
    try { await this.inner.forceFlush() } catch { /* said by export */ }
  }
}

module.exports = { GuardedExporter }
