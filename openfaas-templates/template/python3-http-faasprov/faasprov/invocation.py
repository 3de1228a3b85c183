"""One invocation per HTTP request, as WSGI middleware: its call id, its begin marker before the
body is read, its server span with the FaaS conventions, and its end marker once the server has
written the whole response (the server calls the response's close() after its last write). The
server span is a DeferredSpan (deferred.py): the SDK makes it later, with the other spans of its
export period, on the replayer's thread."""
import threading
import uuid

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .deferred import DeferredSpan
from .markers import CALL_ID
from .telemetry import CALL_ID_KEY, textmap_is_ours
from .warn import warn_once

# faas.trigger values of the semantic conventions; the faasprov gateway names async calls "pubsub".
TRIGGERS = {'datasource', 'http', 'pubsub', 'timer', 'other'}


class _EnvironGetter:
    def __init__(self):
        self._names = {}  # header name -> its WSGI environ key

    def get(self, environ, key):
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = 'HTTP_' + key.upper().replace('-', '_')
        v = environ.get(name)
        return [v] if v is not None else None

    def keys(self, environ):
        return [k[5:].lower().replace('_', '-') for k in environ if k.startswith('HTTP_')]


_getter = _EnvironGetter()
_EMPTY = otel_context.Context()  # never changed: set_value and set_span_in_context copy


class InvocationMiddleware:
    def __init__(self, app, markers, tracer, function_name=None, replayer=None):
        self.app = app
        self.markers = markers
        self.tracer = tracer  # the SDK tracer; with a replayer, it makes the spans after the response
        self.replayer = replayer
        self.function_name = function_name
        self._cold = True
        self._cold_lock = threading.Lock()

    def __call__(self, environ, start_response):
        given = environ.get('HTTP_X_CALL_ID')
        call_id = given
        if given is None or not CALL_ID.match(given):
            if given is not None:
                warn_once('bad-call-id', "a request's X-Call-Id is not 1-128 printable characters; a new call id replaces it (said once)")
            call_id = str(uuid.uuid4())
            environ['HTTP_X_CALL_ID'] = call_id
        replayer = self.replayer
        # On this thread, before anything reads the body: the body's reads belong to the invocation.
        self.markers.begin(call_id)
        with self._cold_lock:
            coldstart, self._cold = self._cold, False
        trigger = environ.get('HTTP_X_FAASPROV_TRIGGER')
        attributes = {
            'faas.invocation_id': call_id,
            'faas.trigger': trigger if trigger in TRIGGERS else 'http',
            'faas.coldstart': coldstart,
            'faasprov.call_id.minted': call_id != given,
            'http.request.method': environ.get('REQUEST_METHOD', ''),
            'url.path': environ.get('PATH_INFO', '') or '/',
        }
        if self.function_name:
            attributes['faas.name'] = self.function_name
        if replayer is not None and textmap_is_ours():
            # Only what the span's identity needs, kept: traceparent is parsed when the ids are first
            # asked for, else when the SDK makes the span (deferred.py). With our propagators, the
            # extracted context holds nothing but the remote parent span.
            tp = environ.get('HTTP_TRACEPARENT')
            remote = None if tp is None else (tp, environ.get('HTTP_TRACESTATE'))
            parent = _EMPTY
            span = DeferredSpan(replayer, self.tracer, self.function_name or 'function', parent, SpanKind.SERVER, attributes, None, remote=remote)
        elif replayer is not None:
            parent = propagate.extract(environ, getter=_getter)
            span = DeferredSpan(replayer, self.tracer, self.function_name or 'function', parent, SpanKind.SERVER, attributes, None)
        else:
            parent = propagate.extract(environ, getter=_getter)
            span = self.tracer.start_span(self.function_name or 'function', context=parent, kind=SpanKind.SERVER, attributes=attributes)
        ctx = otel_context.set_value(CALL_ID_KEY, call_id, trace.set_span_in_context(span, parent))
        ctx_token = otel_context.attach(ctx)
        state = {'status': 0}

        def start(status, headers, exc_info=None):
            state['status'] = int(status.split(' ', 1)[0])
            headers = [h for h in headers if h[0].lower() != 'x-call-id'] + [('X-Call-Id', call_id)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        def finish():
            try:
                span.set_attribute('http.response.status_code', state['status'])
                if state['status'] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                span.end()
                try:
                    otel_context.detach(ctx_token)
                except Exception:
                    pass  # closed on another context than it began (a server that does so): nothing to undo
                self.markers.end(call_id)
            finally:
                if replayer is not None:
                    replayer.done(token)

        def server_error(err):
            # The server answers 500 after the app returned (server.py buffers the whole response).
            span.record_exception(err)
            state['status'] = 500

        if replayer is not None:
            token = object()
            replayer.serving.add(token)  # a batch of spans gives way until the response is written
        try:
            result = self.app(environ, start)
        except BaseException as err:
            span.record_exception(err)
            state['status'] = 500
            finish()
            raise
        return _Response(result, finish, server_error)


class _Response:
    """The app's response; the server calls close() after writing it: the invocation ends there."""

    def __init__(self, inner, on_close, server_error):
        self.inner = inner
        self.on_close = on_close
        self.server_error = server_error  # called by server.py when it sends 500 instead

    def __iter__(self):
        return iter(self.inner)

    def close(self):
        try:
            if hasattr(self.inner, 'close'):
                self.inner.close()
        finally:
            self.on_close()
