#!/usr/bin/env python
"""The python3-http-faasprov wrapper: of-watchdog (mode=http) forwards each request to this server,
which runs the function's handle(event, context) as OpenFaaS's python3-http template does, inside
the faasprov shim (invocation markers, call id, trace context, OpenTelemetry spans).

The server (server.py) keeps of-watchdog's connections alive. Each connection is served by a thread
of its own that reads each request, runs the handler and writes the response, one request after the
other: the shim's markers on that thread then delimit each invocation's work exactly, also when
several requests are served at once."""
import os
import signal
import sys

import faasprov  # first: instruments urllib and requests before the function imports them

from flask import Flask, jsonify, request

from function import handler
from server import make_server

app = Flask(__name__)


class Event:
    def __init__(self):
        self.body = request.get_data()
        self.headers = request.headers
        self.method = request.method
        self.query = request.args
        self.path = request.path


class Context:
    def __init__(self):
        self.hostname = os.getenv('HOSTNAME', 'localhost')


def format_body(resp):
    if 'body' not in resp:
        return ''
    if isinstance(resp['body'], dict):
        return jsonify(resp['body'])
    return str(resp['body'])


def format_headers(resp):
    if 'headers' not in resp:
        return []
    if isinstance(resp['headers'], dict):
        return list(resp['headers'].items())
    return resp['headers']


def format_response(resp):
    if resp is None:
        return ('', 200)
    if isinstance(resp, dict):
        return (format_body(resp), resp.get('statusCode', 200), format_headers(resp))
    return resp


@app.route('/', defaults={'path': ''}, methods=['GET', 'PUT', 'POST', 'PATCH', 'DELETE'])
@app.route('/<path:path>', methods=['GET', 'PUT', 'POST', 'PATCH', 'DELETE'])
def call_handler(path):
    return format_response(handler.handle(Event(), Context()))


def main():
    host = os.getenv('http_host', '127.0.0.1')
    port = int(os.getenv('http_port', '5000'))
    # One thread per connection, which serves its requests start to end, in order (see above).
    server = make_server(host, port, faasprov.wrap(app))

    def stop(signum, frame):
        faasprov.shutdown()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print('python3-http-faasprov listening on port: %d' % server.server_port, flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
