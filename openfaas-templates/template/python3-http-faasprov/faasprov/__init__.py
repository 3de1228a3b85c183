"""The faasprov shim for OpenFaaS's python3-http handler signature. index.py loads it first, so the
HTTP clients are instrumented before the function's code imports them. FAASPROV_SHIM=off leaves the
function as the plain template would run it (for comparisons)."""
import os

from .markers import FUNCTION_NAME


def function_name_from(env=os.environ):
    """The function's name: ours, then what OpenFaaS sets in a function's pod, then OpenTelemetry's."""
    for v in (env.get('FAASPROV_FUNCTION'), env.get('OPENFAAS_NAME'), env.get('OTEL_SERVICE_NAME')):
        if v and FUNCTION_NAME.match(v):
            return v
    return None


function_name = function_name_from()
enabled = os.environ.get('FAASPROV_SHIM') != 'off'

if enabled:
    from .invocation import InvocationMiddleware
    from .markers import Markers
    from .telemetry import start_telemetry

    markers = Markers(function_name)
    telemetry = start_telemetry(function_name, os.environ.get('OPENFAAS_NAMESPACE'))


def wrap(app):
    return InvocationMiddleware(app, markers, telemetry.tracer, function_name, telemetry.replayer) if enabled else app


def shutdown():
    if enabled:
        telemetry.shutdown()
