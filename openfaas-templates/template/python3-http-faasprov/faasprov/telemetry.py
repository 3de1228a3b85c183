"""OpenTelemetry for the function: the SDK, spans sent over OTLP/HTTP (protobuf) to the node's
faasprov agent, urllib and requests instrumented so that every outgoing call carries `traceparent`
and `X-Call-Id`."""
import logging
import os
import socket
import sys
import threading
import time

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .warn import warn_once

DEFAULT_TRACES_URL = 'http://127.0.0.1:4318/v1/traces'
RETRY_AFTER_S = 30.0
# How often spans are exported (OTEL_BSP_SCHEDULE_DELAY, ms). 2000 rather than the specification's
# 5000, so spans join the graph within about two seconds; every 500 ms (until 2026-12-01) cost the
# shop's checkout about 3% more latency (template-lab): each export wakes the exporter, the relay
# and the agent whatever it holds.
DEFAULT_EXPORT_DELAY_MS = 2000
CALL_ID_KEY = otel_context.create_key('faasprov call id')


def export_delay_ms(env=os.environ):
    """OTEL_BSP_SCHEDULE_DELAY when it is a whole number of ms (1 to 3600000), else the default, said once."""
    v = env.get('OTEL_BSP_SCHEDULE_DELAY')
    if v is None or not v.strip():
        return DEFAULT_EXPORT_DELAY_MS
    try:
        n = int(v.strip())
    except ValueError:
        n = 0
    if 1 <= n <= 3600000:
        return n
    warn_once('export-delay', 'OTEL_BSP_SCHEDULE_DELAY=%r is not a whole number of ms from 1 to 3600000; spans are exported every %d ms' % (v[:40], DEFAULT_EXPORT_DELAY_MS))
    return DEFAULT_EXPORT_DELAY_MS


def traces_url(env=os.environ):
    """The standard variables: the per-signal URL as is, else the base URL with /v1/traces."""
    if env.get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'):
        return env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']
    if env.get('OTEL_EXPORTER_OTLP_ENDPOINT'):
        return env['OTEL_EXPORTER_OTLP_ENDPOINT'].rstrip('/') + '/v1/traces'
    return DEFAULT_TRACES_URL


class CallIdPropagator(TextMapPropagator):
    """Writes the invocation's call id into outgoing requests, next to traceparent."""

    def inject(self, carrier, context=None, setter=None):
        from opentelemetry.propagators.textmap import default_setter
        call_id = otel_context.get_value(CALL_ID_KEY, context)
        if isinstance(call_id, str):
            (setter or default_setter).set(carrier, 'X-Call-Id', call_id)

    def extract(self, carrier, context=None, getter=None):
        from opentelemetry.propagators.textmap import default_getter
        values = (getter or default_getter).get(carrier, 'x-call-id')
        ctx = context if context is not None else otel_context.get_current()
        return otel_context.set_value(CALL_ID_KEY, values[0], ctx) if values else ctx

    @property
    def fields(self):
        return {'X-Call-Id'}


_TRACE_CONTEXT = TraceContextTextMapPropagator()
_TEXTMAP = CompositePropagator([_TRACE_CONTEXT, CallIdPropagator()])


def textmap_is_ours():
    """Whether the global propagator is still the one set here (the function's code may set its own)."""
    return propagate.get_global_textmap() is _TEXTMAP


class _LastProblem(logging.Handler):
    """Keeps the exporter's last complaint, for our one warning, instead of printing each one."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.last = None

    def emit(self, record):
        try:
            self.last = record.getMessage()
        except Exception:
            self.last = str(record.msg)


_problems = _LastProblem()


class GuardedExporter:
    """An absent or broken agent costs the function nothing: the first failure is said once, then
    spans are dropped at once (counted) until a retry after a pause finds the agent again."""

    def __init__(self, inner, url):
        self.inner = inner
        self.url = url
        self.down_until = 0.0
        self.dropped = 0
        self.exported = 0
        self._lock = threading.Lock()

    def export(self, spans):
        from opentelemetry.sdk.trace.export import SpanExportResult
        if time.monotonic() < self.down_until:
            self.dropped += len(spans)
            return SpanExportResult.FAILURE
        _problems.last = None
        try:
            result = self.inner.export(spans)
            why = _problems.last or 'export failed'
        except Exception as err:  # the exporter must never take the function down
            result, why = SpanExportResult.FAILURE, str(err)
        if result == SpanExportResult.SUCCESS:
            if self.down_until:
                sys.stderr.write('faasprov: the agent at %s takes spans again (%d dropped while it did not)\n' % (self.url, self.dropped))
                self.down_until = 0.0
            self.exported += len(spans)
        else:
            self.dropped += len(spans)
            warn_once('export', 'cannot send spans to the agent at %s (%s); spans are dropped (counted) and sending is retried every %d s' % (self.url, why, RETRY_AFTER_S))
            self.down_until = time.monotonic() + RETRY_AFTER_S
        return result

    def shutdown(self):
        try:
            self.inner.shutdown()
        except Exception:
            pass

    def force_flush(self, timeout_millis=30000):
        if time.monotonic() < self.down_until:
            return True
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception:
            return False


class Telemetry:
    def __init__(self, tracer, exporter, url, provider, replayer=None):
        self.tracer = tracer
        self.exporter = exporter
        self.url = url
        self.provider = provider
        self.replayer = replayer  # None when the SDK could not start: spans are the API's no-ops

    def shutdown(self):
        if self.replayer is not None:
            self.replayer.stop()  # spans still waiting are made: the provider's shutdown exports them
            if self.replayer.failed:
                sys.stderr.write('faasprov: %d spans could not be made after their response and were dropped\n' % self.replayer.failed)
            if self.replayer.over:
                sys.stderr.write('faasprov: %d spans were dropped: too many waited for their batch\n' % self.replayer.over)
        if self.provider is not None:
            try:
                self.provider.shutdown()
            except Exception:
                pass


def start_telemetry(function_name=None, namespace=None):
    url = traces_url()
    # The propagator works without the SDK: headers are forwarded even if the SDK cannot start.
    propagate.set_global_textmap(_TEXTMAP)
    # Our guard says the exporter's trouble once; the exporter's own logger would say it per batch.
    for name in ('opentelemetry.exporter.otlp.proto.http', 'opentelemetry.exporter.otlp.proto.http.trace_exporter'):
        log = logging.getLogger(name)
        log.handlers = [_problems]
        log.propagate = False
        log.setLevel(logging.WARNING)
    provider = exporter = replayer = None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
        from .deferred import PresetIdGenerator, Replayer
        attributes = {'service.name': function_name or 'faasprov-function', 'host.name': socket.gethostname()}
        if function_name:
            attributes['faas.name'] = function_name
        if namespace:
            attributes['service.namespace'] = namespace
        # Sampling set here, not from OTEL_TRACES_SAMPLER: a span's sampled flag is decided when it
        # starts (the parent's, else sampled), before the SDK makes it (deferred.py).
        ids = PresetIdGenerator()
        provider = TracerProvider(resource=Resource.create(attributes), sampler=ParentBased(ALWAYS_ON), id_generator=ids)
        exporter = GuardedExporter(OTLPSpanExporter(endpoint=url, timeout=2), url)
        # Bounded: a slow agent makes spans drop, never requests wait (export runs on its own thread).
        # The replayer's thread makes the spans every export period and has the processor export
        # them at once (force_flush); the processor's own timer exports what else ends (spans of
        # the function's own tracers).
        delay_ms = export_delay_ms()
        processor = BatchSpanProcessor(exporter, max_queue_size=4096, max_export_batch_size=512, schedule_delay_millis=delay_ms)
        provider.add_span_processor(processor)
        trace.set_tracer_provider(provider)
        replayer = Replayer(ids, delay_ms / 1000.0, processor)
        replayer.start()
    except Exception as err:
        warn_once('sdk', 'OpenTelemetry could not start (%s); no spans will be sent' % err)
        provider = replayer = None
    clients = None
    if replayer is not None:
        from .deferred import DeferredTracerProvider
        clients = DeferredTracerProvider(provider, replayer)
    _instrument_clients(clients)
    return Telemetry(trace.get_tracer('faasprov-template-python3-http', '1.0.0'), exporter, url, provider, replayer)


def _instrument_clients(tracer_provider=None):
    """urllib always; requests when the function has it (the exporter brings it too); threads the
    handler starts carry its context, so their calls carry the call id and traceparent too. The
    client spans go through tracer_provider (deferred spans), else the global provider."""
    kw = {'tracer_provider': tracer_provider} if tracer_provider is not None else {}
    try:
        from opentelemetry.instrumentation.threading import ThreadingInstrumentor
        ThreadingInstrumentor().instrument()
    except Exception as err:
        warn_once('threading', 'cannot instrument threading (%s): calls from threads the handler starts will not carry X-Call-Id and traceparent' % err)
    try:
        from opentelemetry.instrumentation.urllib import URLLibInstrumentor
        URLLibInstrumentor().instrument(**kw)
    except Exception as err:
        warn_once('urllib', 'cannot instrument urllib (%s): its calls will not carry X-Call-Id and traceparent' % err)
    try:
        import requests  # noqa: F401
    except ImportError:
        return
    try:
        from opentelemetry.instrumentation.requests import RequestsInstrumentor
        RequestsInstrumentor().instrument(**kw)
    except Exception as err:
        warn_once('requests', 'cannot instrument requests (%s): its calls will not carry X-Call-Id and traceparent' % err)
