'use strict'
// A span whose SDK work is deferred: its identity (ids, sampled flag) is fixed when it starts, and
// what code does to it (attributes, events, links, status, name, exceptions, end) is recorded with
// the times the SDK would have taken, to be replayed on a real SDK span later (see deferred-tracer.js).

const { addHrTimes, hrTime, isTimeInputHrTime, millisToHrTime } = require('@opentelemetry/core')

const SET_ATTRIBUTE = 0
const SET_ATTRIBUTES = 1
const ADD_EVENT = 2
const ADD_LINK = 3
const SET_STATUS = 4
const UPDATE_NAME = 5
const RECORD_EXCEPTION = 6

const isTime = (v) => typeof v === 'number' || v instanceof Date || isTimeInputHrTime(v)

class DeferredSpan {
  constructor (queue, tracer, name, options, parentContext, spanContext) {
    this._queue = queue
    this._tracer = tracer
    this._name = name
    this._kind = options.kind
    this._attributes = options.attributes ? Object.assign({}, options.attributes) : undefined
    this._links = options.links ? options.links.slice() : undefined
    this._parentContext = parentContext
    this._spanContext = spanContext
    // As the SDK's span: wall-clock milliseconds at start, monotonic time after that.
    const now = Date.now()
    this._perfStart = performance.now()
    this._perfOffset = now - (this._perfStart + performance.timeOrigin)
    this._startTimeProvided = options.startTime != null
    this._startTime = undefined
    this._startTime = this._time(options.startTime ?? now)
    this._ops = []
    this._endTime = undefined
    this._ended = false
  }

  /** The SDK span's _getTime, run now, so the replayed span gets the times this one saw. */
  _time (inp) {
    if (typeof inp === 'number' && inp <= performance.now()) return hrTime(inp + this._perfOffset)
    if (typeof inp === 'number') return millisToHrTime(inp)
    if (inp instanceof Date) return millisToHrTime(inp.getTime())
    if (isTimeInputHrTime(inp)) return inp
    if (this._startTimeProvided) return millisToHrTime(Date.now())
    return addHrTimes(this._startTime, millisToHrTime(performance.now() - this._perfStart))
  }

  spanContext () { return this._spanContext }

  isRecording () { return !this._ended }

  setAttribute (key, value) {
    if (!this._ended) this._ops.push(SET_ATTRIBUTE, key, Array.isArray(value) ? value.slice() : value)
    return this
  }

  setAttributes (attributes) {
    if (!this._ended && attributes) this._ops.push(SET_ATTRIBUTES, Object.assign({}, attributes), undefined)
    return this
  }

  addEvent (name, attributesOrStartTime, timeStamp) {
    if (this._ended) return this
    let attributes = attributesOrStartTime
    if (isTime(attributesOrStartTime)) {
      if (!isTime(timeStamp)) timeStamp = attributesOrStartTime
      attributes = undefined
    }
    this._ops.push(ADD_EVENT, [name, attributes], this._time(timeStamp))
    return this
  }

  addLink (link) {
    if (!this._ended) this._ops.push(ADD_LINK, link, undefined)
    return this
  }

  addLinks (links) {
    for (const link of links) this.addLink(link)
    return this
  }

  setStatus (status) {
    if (!this._ended) this._ops.push(SET_STATUS, Object.assign({}, status), undefined)
    return this
  }

  updateName (name) {
    if (!this._ended) this._ops.push(UPDATE_NAME, name, undefined)
    return this
  }

  recordException (exception, time) {
    if (!this._ended) this._ops.push(RECORD_EXCEPTION, exception, this._time(time))
  }

  end (endTime) {
    if (this._ended) return
    this._endTime = this._time(endTime)
    this._ended = true
    this._queue.push(this)
  }

  /** Replays this span on the SDK (ids preset through `ids`); returns the SDK's span. */
  replay (ids) {
    const span = ids.startSpan(this._tracer(), this._name, { kind: this._kind, attributes: this._attributes, links: this._links, startTime: this._startTime }, this._parentContext, this._spanContext)
    const ops = this._ops
    for (let i = 0; i < ops.length; i += 3) {
      const a = ops[i + 1]
      const b = ops[i + 2]
      switch (ops[i]) {
        case SET_ATTRIBUTE: span.setAttribute(a, b); break
        case SET_ATTRIBUTES: span.setAttributes(a); break
        case ADD_EVENT: span.addEvent(a[0], a[1], b); break
        case ADD_LINK: span.addLink(a); break
        case SET_STATUS: span.setStatus(a); break
        case UPDATE_NAME: span.updateName(a); break
        case RECORD_EXCEPTION: span.recordException(a, b); break
      }
    }
    span.end(this._endTime)
    this._ops = undefined
    this._parentContext = undefined
    return span
  }
}

module.exports = { DeferredSpan }
