'use strict'
// More than one request at a time on Node: every request runs on the one event-loop thread, and
// libuv's thread pool does their file I/O (and DNS lookups) on other threads. Begin/end markers
// alone would charge one request's syscalls to another, so, when requests may overlap:
//
// - event loop: each async resource remembers the call id of the code that created it; when a
//   callback of another invocation than the one last announced on the loop thread starts, a begin
//   marker for that (already open) call id rebinds the thread to it (the agent's rule for a
//   resumed request). Only switches cost a write, not every callback.
// - thread pool: the pool runs with ONE thread (UV_THREADPOOL_SIZE=1, set before the pool starts),
//   whose queue is FIFO. Before an fs or DNS request of another invocation than the pool's last one
//   is queued, a marker write (an fs.write to the marker descriptor, itself pool work) is queued
//   first, so the pool thread announces the call id right before doing that invocation's work.
//
// Cost: async_hooks (init/before/after, which turn on V8's promise hooks), one write per switch.

const asyncHooks = require('node:async_hooks')
const fs = require('node:fs')

const CALL = Symbol('faasprov call id')
/** How long an end marker waits for its invocation's pool work before it is written anyway. */
const END_WAIT_MS = 30_000
/** Async resources whose work runs on libuv's thread pool and may make file syscalls. */
const POOL_TYPES = new Set(['FSREQCALLBACK', 'FSREQPROMISE', 'FILEHANDLECLOSEREQ', 'GETADDRINFOREQWRAP', 'GETNAMEINFOREQWRAP'])

/** Whether overlapping requests must be told apart: FAASPROV_CONCURRENCY=on|off|auto (max_inflight). */
function concurrencyWanted (env = process.env) {
  const v = env.FAASPROV_CONCURRENCY || 'auto'
  if (v === 'on') return true
  if (v === 'off') return false
  return env.max_inflight !== '1'
}

class SwitchTracker {
  constructor (markers) {
    this.markers = markers
    this.current = undefined // the call id of the code running now
    this.stack = []
    this.loopMarked = undefined // what the loop thread last announced
    this.poolMarked = undefined // what the pool thread will have announced once its queue drains
    this.open = new Set()
    this.inPoolMarker = false
    this.switches = { loop: 0, pool: 0 }
    // Pool requests not completed yet, by async id, and how many each invocation has.
    this.pendingPool = new Map()
    this.pendingCount = new Map()
    this.deferredEnds = new Map()
    const self = this
    this.hook = asyncHooks.createHook({
      init (asyncId, type, triggerAsyncId, resource) {
        const c = self.current
        if (c === undefined) return
        resource[CALL] = c
        if (!POOL_TYPES.has(type) || self.inPoolMarker || !self.open.has(c)) return
        if (c !== self.poolMarked) self.markPool(c)
        self.pendingPool.set(asyncId, c)
        self.pendingCount.set(c, (self.pendingCount.get(c) || 0) + 1)
      },
      before () {
        self.stack.push(self.current)
        const c = asyncHooks.executionAsyncResource()[CALL]
        self.current = c
        if (c !== undefined && c !== self.loopMarked && self.open.has(c)) {
          self.loopMarked = c
          self.switches.loop++
          self.markers.begin(c)
        }
      },
      after (asyncId) {
        self.current = self.stack.pop()
        const c = self.pendingPool.get(asyncId)
        if (c === undefined) return
        self.pendingPool.delete(asyncId)
        const n = self.pendingCount.get(c) - 1
        if (n > 0) return self.pendingCount.set(c, n)
        self.pendingCount.delete(c)
        const end = self.deferredEnds.get(c)
        if (end) end()
      }
    })
  }

  start () {
    // libuv reads this when the pool first starts, which has not happened while the shim loads.
    process.env.UV_THREADPOOL_SIZE = '1'
    this.hook.enable()
    return this
  }

  markPool (callId) {
    if (this.markers.fd < 0 || !this.open.has(callId)) return
    this.inPoolMarker = true
    try {
      fs.write(this.markers.fd, this.markers.beginText(callId), () => {})
      this.poolMarked = callId
      this.switches.pool++
      this.markers.logOnly(-1, this.markers.beginText(callId))
    } catch { /* the marker fd went bad: Markers says so on its next write */ } finally {
      this.inPoolMarker = false
    }
  }

  /** Runs fn as invocation callId, whose begin marker was just written on the loop thread. */
  enter (callId, fn) {
    this.open.add(callId)
    this.loopMarked = callId
    const prev = this.current
    this.current = callId
    try {
      return fn()
    } finally {
      this.current = prev
    }
  }

  /** Runs fn as no invocation's code (the span exporter's timers and sockets are nobody's). */
  outside (fn) {
    const prev = this.current
    this.current = undefined
    try {
      return fn()
    } finally {
      this.current = prev
    }
  }

  /**
   * Writes callId's end marker (writeEnd) once the pool work it queued is done: a marker queued
   * for that work must not reach the pool thread after the end (the agent would open the call
   * again, as a new attempt).
   */
  finish (callId, writeEnd) {
    if (this.deferredEnds.has(callId)) return
    let timer
    const done = () => {
      clearTimeout(timer)
      this.deferredEnds.delete(callId)
      writeEnd()
      this.leave(callId)
    }
    if (!this.pendingCount.has(callId)) return done()
    timer = this.outside(() => setTimeout(done, END_WAIT_MS))
    timer.unref()
    this.deferredEnds.set(callId, done)
  }

  /** callId's end marker was written: the agent unbinds every thread that served it. */
  leave (callId) {
    this.open.delete(callId)
    for (const [id, c] of this.pendingPool) if (c === callId) this.pendingPool.delete(id)
    this.pendingCount.delete(callId)
    if (this.loopMarked === callId) this.loopMarked = undefined
    if (this.poolMarked === callId) this.poolMarked = undefined
  }
}

module.exports = { SwitchTracker, concurrencyWanted }
