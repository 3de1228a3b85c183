"""Deferred spans: the OpenTelemetry SDK's span work off the request's critical path, in batches.

At a span's start only its identity is decided (trace id, a new span id, the sampled flag, as the
SDK would with its ParentBased(ALWAYS_ON) sampler and random ids), and only when something asks for
it (an outgoing call's traceparent, the handler); else when the span is made. A DeferredSpan stands
in for the span: it records what is done to it, with the times it was done. Ended, it waits; every
export period (OTEL_BSP_SCHEDULE_DELAY) the Replayer's thread makes the waiting spans with the SDK
together: the real SDK span is made with those ids (handed to the SDK by PresetIdGenerator, the
TracerProvider's id_generator), the recorded calls are replayed on it in order, it ends with the
recorded end time, and the batch processor exports them (force_flush) right after: the exported
span is the one an eagerly made span would have been. Made one after the other, the SDK's code runs
on warm caches: per request it costs a fraction of what a span made after each response did.
"""
import random
import sys
import threading
import time
import traceback

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import INVALID_SPAN_ID, INVALID_TRACE_ID, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util._decorator import _agnosticcontextmanager  # what the API's tracers use

from .warn import warn_once

_getrandbits = random.getrandbits
_time_ns = time.time_ns
_SAMPLED_RANDOM = TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID
_ROOT_FLAGS = TraceFlags(_SAMPLED_RANDOM)
_identify_lock = threading.RLock()  # a span identifies its deferred parent inside it
_TRACE_CONTEXT = TraceContextTextMapPropagator()
# Ended spans that wait for the next batch at most; beyond, they are dropped and counted (said once).
MAX_WAITING = 4096
# This many waiting spans wake the batch before the export period is over (the SDK's batch size).
BATCH_NOW = 512
# A batch gives way to the requests being served (the GIL: a request that wants it while the batch
# holds it waits up to sys.getswitchinterval(), 5 ms, at each of its own I/O calls), for at most this
# long per batch, so requests served back to back cannot hold spans back for ever.
YIELD_MAX_S = 0.25
# While a batch runs, the GIL changes hands this often (s) instead of every 5 ms: a request that
# comes in during the export, which cannot give way, waits that long at most for each turn.
BATCH_SWITCH_INTERVAL_S = 0.0005


class PresetIdGenerator(RandomIdGenerator):
    """Random ids as the SDK's default, except the ids a replay has set on this thread, used once."""

    def __init__(self):
        self._preset = threading.local()

    def preset(self, trace_id, span_id):
        p = self._preset
        p.trace_id = trace_id
        p.span_id = span_id

    def generate_trace_id(self):
        p = self._preset
        v = getattr(p, 'trace_id', None)
        if v is not None:
            p.trace_id = None
            return v
        return super().generate_trace_id()

    def generate_span_id(self):
        p = self._preset
        v = getattr(p, 'span_id', None)
        if v is not None:
            p.span_id = None
            return v
        return super().generate_span_id()


def _new_span_id():
    v = _getrandbits(64)
    while v == INVALID_SPAN_ID:
        v = _getrandbits(64)
    return v


def _new_trace_id():
    v = _getrandbits(128)
    while v == INVALID_TRACE_ID:
        v = _getrandbits(128)
    return v


def _copy(value):
    # The SDK copies sequences when set; the handler may change its list before the replay.
    return tuple(value) if isinstance(value, list) else value


class DeferredSpan(trace.Span):
    """A span whose SDK twin is made later. Its calls are kept as (method name, args) in order."""

    __slots__ = ('_replayer', '_tracer', '_name', '_parent', '_kind', '_attributes', '_links', '_start', '_end', '_context', '_calls', '_recording', '_remote')

    def __init__(self, replayer, tracer, name, parent, kind, attributes, links, start_time=None, remote=None):
        self._replayer = replayer
        self._tracer = tracer  # the SDK tracer (its scope) that makes the span
        self._name = name
        self._parent = parent  # the Context the span was started in
        self._kind = kind
        self._attributes = dict(attributes) if attributes else {}
        self._links = links
        self._start = start_time if start_time is not None else _time_ns()
        self._end = None
        self._calls = []
        # remote: a request's (traceparent, tracestate), parsed into the parent only when the ids
        # are first asked for (an outgoing call, the handler, else after the response).
        self._remote = remote
        self._context = None
        if remote is None:
            self._identify()

    def _identify(self):
        with _identify_lock:  # once: two threads must not draw two span ids
            if self._context is not None:
                return
            if self._remote is not None:
                tp, ts = self._remote
                carrier = {'traceparent': tp} if ts is None else {'traceparent': tp, 'tracestate': ts}
                remote = trace.get_current_span(_TRACE_CONTEXT.extract(carrier))
                if remote.get_span_context().is_valid:
                    self._parent = trace.set_span_in_context(remote, self._parent)
            # The identity, as the SDK's ParentBased(ALWAYS_ON) sampler and RandomIdGenerator make it.
            pctx = trace.get_current_span(self._parent).get_span_context()
            if pctx is not None and pctx.is_valid:
                # The parent's sampled flag and its random-trace-id flag (the SDK keeps no other bit).
                flags = TraceFlags(pctx.trace_flags & _SAMPLED_RANDOM)
                context = SpanContext(pctx.trace_id, _new_span_id(), False, flags, pctx.trace_state)
            else:
                context = SpanContext(_new_trace_id(), _new_span_id(), False, _ROOT_FLAGS, DEFAULT_TRACE_STATE)
            self._recording = context.trace_flags.sampled
            self._context = context

    def get_span_context(self):
        if self._context is None:
            self._identify()
        return self._context

    def is_recording(self):
        if self._context is None:
            self._identify()
        return self._recording and self._end is None

    def set_attribute(self, key, value):
        if self._end is None:
            self._calls.append(('set_attribute', (key, _copy(value))))

    def set_attributes(self, attributes):
        if self._end is None and attributes:
            self._calls.append(('set_attributes', ({k: _copy(v) for k, v in attributes.items()},)))

    def add_event(self, name, attributes=None, timestamp=None):
        if self._end is None:
            self._calls.append(('add_event', (name, dict(attributes) if attributes else attributes, timestamp if timestamp is not None else _time_ns())))

    def add_link(self, context, attributes=None):
        if self._end is None:
            self._calls.append(('add_link', (context, dict(attributes) if attributes else attributes)))

    def update_name(self, name):
        if self._end is None:
            self._calls.append(('update_name', (name,)))

    def set_status(self, status, description=None):
        if self._end is None:
            self._calls.append(('set_status', (status, description)))

    def record_exception(self, exception, attributes=None, timestamp=None, escaped=False):
        # As the SDK's record_exception, now: the traceback grows as the exception travels on.
        if self._end is not None:
            return
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        attrs = {
            'exception.type': '%s.%s' % (module, qualname) if module and module != 'builtins' else qualname,
            'exception.message': str(exception),
            'exception.stacktrace': ''.join(traceback.format_exception(exception)),
            'exception.escaped': str(escaped),
        }
        if attributes:
            attrs.update(attributes)
        self.add_event('exception', attrs, timestamp)

    def end(self, end_time=None):
        if self._end is not None:
            return
        self._end = end_time if end_time is not None else _time_ns()
        # The identity (and so the sampled flag) is decided when the span is made, if not before.
        self._replayer.ended(self)

    def __repr__(self):
        return 'DeferredSpan(%r, %r)' % (self._name, self.get_span_context())


class Replayer:
    """Makes the SDK spans of ended DeferredSpans in batches, on a thread of its own: the first span
    to wait starts the export period; at its end (or once BATCH_NOW wait) every waiting span is made
    and the batch processor exports them. Never on a request's thread, never inside an invocation."""

    def __init__(self, id_generator, delay_s=2.0, processor=None):
        self.id_generator = id_generator
        self.processor = processor  # its force_flush() exports what a batch made
        self.delay_s = delay_s
        self.failed = 0  # replays the SDK refused
        self.over = 0  # spans dropped: MAX_WAITING were waiting
        self._waiting = []
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._stopping = False
        self._thread = None
        self.serving = set()  # a token per request being served (add and discard are atomic)
        self._idle = threading.Event()  # set by the last request to finish while a batch waits for it
        self._waiting_idle = False

    def start(self):
        self._thread = threading.Thread(target=self._run, name='faasprov-spans', daemon=True)
        self._thread.start()

    def ended(self, span):
        with self._lock:
            n = len(self._waiting)
            if n < MAX_WAITING:
                self._waiting.append(span)
            else:
                self.over += 1
        if n == 0 or n + 1 == BATCH_NOW:
            self._kick.set()
        elif n >= MAX_WAITING:
            warn_once('waiting', 'more than %d ended spans wait for their batch; such spans are dropped, counted, and the count said at shutdown' % MAX_WAITING)

    def done(self, token):
        """A request's response is written: a batch that gave way to it may go on."""
        self.serving.discard(token)
        if self._waiting_idle and not self.serving:
            self._idle.set()

    def _give_way(self, until):
        """Waits (up to the monotonic time until) while requests are being served."""
        while self.serving and not self._stopping:
            left = until - time.monotonic()
            if left <= 0:
                return
            self._idle.clear()
            self._waiting_idle = True
            if self.serving:
                self._idle.wait(min(left, 0.05))  # bounded: a wake-up lost to a race costs 50 ms at most
            self._waiting_idle = False

    def _run(self):
        kick = self._kick
        while True:
            kick.wait()  # nothing waits: sleep until a span does
            deadline = time.monotonic() + self.delay_s
            while not self._stopping and len(self._waiting) < BATCH_NOW:
                kick.clear()
                left = deadline - time.monotonic()
                if left <= 0 or len(self._waiting) >= BATCH_NOW:
                    break
                kick.wait(left)
            kick.clear()
            if self._stopping:
                return
            self.flush()

    def flush(self):
        """Makes every waiting span with the SDK, then has the batch processor export them."""
        with self._lock:
            spans, self._waiting = self._waiting, []
        if not spans:
            return
        until = time.monotonic() + YIELD_MAX_S
        interval = sys.getswitchinterval()
        fast = min(interval, BATCH_SWITCH_INTERVAL_S)
        sys.setswitchinterval(fast)
        try:
            for s in spans:
                if self.serving:
                    self._give_way(until)
                self.replay(s)
            if self.serving:
                self._give_way(until)
            if self.processor is not None:
                try:
                    self.processor.force_flush()
                except Exception as err:
                    warn_once('flush', 'the span processor failed to export a batch (%s)' % err)
        finally:
            if sys.getswitchinterval() == fast:
                sys.setswitchinterval(interval)  # unless the function set its own meanwhile

    def stop(self):
        """The thread ends; what still waits is made here (then the provider's shutdown exports it)."""
        self._stopping = True
        self._kick.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        with self._lock:
            spans, self._waiting = self._waiting, []
        for s in spans:
            self.replay(s)

    def replay(self, span):
        try:
            if span._context is None:
                span._identify()
            if not span._recording:
                return  # not sampled: the SDK would not have exported it either
            ctx = span._context
            self.id_generator.preset(ctx.trace_id, ctx.span_id)
            try:
                real = span._tracer.start_span(span._name, context=span._parent, kind=span._kind, attributes=span._attributes, links=span._links, start_time=span._start)
            finally:
                self.id_generator.preset(None, None)
            got = real.get_span_context()
            if got.span_id != ctx.span_id or got.trace_id != ctx.trace_id or got.trace_flags != ctx.trace_flags:
                raise RuntimeError('the SDK made span %r, not the announced %r' % (got, ctx))
            for method, args in span._calls:
                getattr(real, method)(*args)
            real.end(span._end)
        except Exception as err:
            with self._lock:
                self.failed += 1
            warn_once('replay', 'cannot make a span after the response (%s); such spans are dropped, counted, and the count said at shutdown' % err)


class DeferredTracer(trace.Tracer):
    """An SDK tracer whose spans are DeferredSpans: what the instrumentations get."""

    def __init__(self, tracer, replayer):
        self._tracer = tracer
        self._replayer = replayer

    def start_span(self, name, context=None, kind=SpanKind.INTERNAL, attributes=None, links=None, start_time=None, record_exception=True, set_status_on_exception=True):
        return DeferredSpan(self._replayer, self._tracer, name, context if context is not None else otel_context.get_current(), kind, attributes, links, start_time)

    @_agnosticcontextmanager
    def start_as_current_span(self, name, context=None, kind=SpanKind.INTERNAL, attributes=None, links=None, start_time=None, record_exception=True, set_status_on_exception=True, end_on_exit=True):
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(span, end_on_exit=end_on_exit, record_exception=record_exception, set_status_on_exception=set_status_on_exception) as s:
            yield s


class DeferredTracerProvider(trace.TracerProvider):
    """The SDK's TracerProvider as the official instrumentations see it: same scopes, deferred spans."""

    def __init__(self, provider, replayer):
        self._provider = provider
        self._replayer = replayer

    def get_tracer(self, instrumenting_module_name, instrumenting_library_version=None, schema_url=None, attributes=None):
        return DeferredTracer(self._provider.get_tracer(instrumenting_module_name, instrumenting_library_version, schema_url, attributes), self._replayer)
