'use strict'
// Invocation markers for the faasprov agent: one write() of "faasprov:B:CALL_ID[ FUNCTION]" or
// "faasprov:E:CALL_ID" to a descriptor opened on /dev/null. The agent's kernel program recognises
// the descriptor by the path it was opened with, and takes the thread that wrote a begin marker as
// the thread doing that invocation's work (a begin for an open call id rebinds the thread to it).

const fs = require('node:fs')
const { warnOnce } = require('./warn')

/** What the agent accepts (agent/src/sensor/parse.ts): printable call ids, plain function names. */
const CALL_ID = /^[\x21-\x7e]{1,128}$/
const FUNCTION_NAME = /^[A-Za-z0-9._-]{1,253}$/

class Markers {
  constructor (functionName) {
    this.functionName = FUNCTION_NAME.test(functionName || '') ? functionName : undefined
    this.fd = -1
    try {
      // Opened once at start, so a warm instance's descriptor is found by an agent started later.
      this.fd = fs.openSync('/dev/null', 'w')
    } catch (err) {
      warnOnce('markers', `cannot open /dev/null for invocation markers (${err.message}); invocations will not be split into units`)
    }
    // Test hook: FAASPROV_MARKER_LOG names a file that also gets "THREAD_ID<TAB>MONOTONIC_NS<TAB>MARKER" lines.
    this.logFd = -1
    if (process.env.FAASPROV_MARKER_LOG) this.logFd = fs.openSync(process.env.FAASPROV_MARKER_LOG, 'a')
  }

  beginText (callId) { return this.functionName ? `faasprov:B:${callId} ${this.functionName}` : `faasprov:B:${callId}` }

  begin (callId) { this.write(this.beginText(callId)) }

  end (callId) { this.write(`faasprov:E:${callId}`) }

  write (text) {
    if (this.fd >= 0) {
      try {
        // One string, no position: libuv makes exactly one write(2) on this thread.
        fs.writeSync(this.fd, text)
      } catch (err) {
        warnOnce('markers', `invocation marker write failed (${err.message}); markers are off from now on`)
        this.fd = -1
      }
    }
    this.logOnly(process.pid, text)
  }

  /** The test hook's line for a marker written elsewhere (-1: queued to the thread pool). */
  logOnly (tid, text) {
    if (this.logFd >= 0) fs.writeSync(this.logFd, `${tid}\t${process.hrtime.bigint()}\t${text}\n`)
  }
}

module.exports = { Markers, CALL_ID, FUNCTION_NAME }
