"""A small HTTP/1.1 WSGI server for the wrapper, on the standard library.

It keeps connections alive: of-watchdog (mode=http) then sends a function's requests over the
connections it already holds, instead of one new connection (and, in werkzeug's dev server, one new
thread) per request. One thread per connection reads each request, runs the app and writes the
response, in order; the response's close() (where the faasprov shim writes its end marker) runs on
that thread after the whole response was written and before the next request is read. The body is
read from the socket only when the app asks for it (the shim's begin marker comes first), and what
the app left unread is drained before close(), so the next request on the connection is never eaten.
"""
import socket
import socketserver
import sys
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import unquote_to_bytes

# A body the app did not read is drained to keep the connection; past this, the connection is closed.
DRAIN_LIMIT = 1 << 20


class _Body:
    """What wsgi.input offers beyond read and readline."""

    def readlines(self, hint=-1):
        return list(iter(self.readline, b''))

    def __iter__(self):
        return iter(self.readline, b'')


class _LengthBody(_Body):
    """wsgi.input for a Content-Length body: reads at most that many bytes, only when asked."""

    def __init__(self, rfile, length):
        self._rfile = rfile
        self.left = length

    def read(self, size=-1):
        if self.left <= 0:
            return b''
        n = self.left if size is None or size < 0 else min(size, self.left)
        data = self._rfile.read(n)
        if len(data) < n:
            raise ConnectionError('the client closed the connection inside the body')
        self.left -= len(data)
        return data

    def readline(self, limit=-1):
        if self.left <= 0:
            return b''
        n = self.left if limit is None or limit < 0 else min(limit, self.left)
        line = self._rfile.readline(n)
        if not line:
            raise ConnectionError('the client closed the connection inside the body')
        self.left -= len(line)
        return line

    def drain(self, limit):
        """Reads what the app left of the body; False when that is over limit (then nothing is read)."""
        if self.left > limit:
            return False
        while self.left > 0:
            self.read(min(self.left, 65536))
        return True


class _ChunkedBody(_Body):
    """wsgi.input for a chunked body (Transfer-Encoding: chunked), decoded as the app reads it."""

    def __init__(self, rfile):
        self._rfile = rfile
        self._chunk = 0  # bytes left in the current chunk
        self._done = False
        self._buf = b''  # read past a line's end by readline

    def _line(self):
        line = self._rfile.readline(65537)
        if not line.endswith(b'\n'):
            raise ConnectionError('a broken chunked body')
        return line

    def _next_chunk(self):
        if self._chunk == 0 and not self._done:
            size = self._line().split(b';', 1)[0].strip()
            try:
                self._chunk = int(size, 16)
            except ValueError:
                raise ConnectionError('a broken chunked body') from None
            if self._chunk < 0:
                raise ConnectionError('a broken chunked body')
            if self._chunk == 0:
                self._done = True
                while self._line() not in (b'\r\n', b'\n'):  # trailers: dropped
                    pass

    def _read_some(self, size):
        self._next_chunk()
        if self._done:
            return b''
        n = self._chunk if size < 0 else min(size, self._chunk)
        data = self._rfile.read(n)
        if len(data) < n:
            raise ConnectionError('the client closed the connection inside the body')
        self._chunk -= n
        if self._chunk == 0 and self._rfile.read(2) != b'\r\n':
            raise ConnectionError('a broken chunked body')
        return data

    def read(self, size=-1):
        out = [self._buf]
        got = len(self._buf)
        self._buf = b''
        while size is None or size < 0 or got < size:
            data = self._read_some(-1 if size is None or size < 0 else size - got)
            if not data:
                break
            out.append(data)
            got += len(data)
        return b''.join(out)

    def readline(self, limit=-1):
        out = []
        got = 0
        while limit is None or limit < 0 or got < limit:
            data = self._buf or self._read_some(65536)
            self._buf = b''
            if not data:
                break
            i = data.find(b'\n')
            end = len(data) if i < 0 else i + 1
            if limit is not None and limit >= 0:
                end = min(end, limit - got)
            out.append(data[:end])
            self._buf = data[end:]
            got += end
            if i >= 0 and end == i + 1:
                break
        return b''.join(out)

    def drain(self, limit):
        seen = len(self._buf)
        self._buf = b''
        while seen <= limit:
            data = self._read_some(65536)
            if not data:
                return True
            seen += len(data)
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True  # a 100 Continue or a large body goes out in more than one write
    app = None  # set by make_server's subclass

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ''
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # answers bad requests itself; sends 100 Continue when asked
                return
            if self.request_version == 'HTTP/1.0':
                self.close_connection = True
            self.run_app()
        except OSError:
            self.close_connection = True  # the client went away: this connection's thread ends quietly

    def _body(self):
        te = self.headers.get('Transfer-Encoding')
        lengths = self.headers.get_all('Content-Length') or []
        if te is not None:
            if te.strip().lower() != 'chunked':
                return None, 501
            self.close_connection = self.close_connection or bool(lengths)  # both: answer, then close
            return _ChunkedBody(self.rfile), None
        if not lengths:
            return _LengthBody(self.rfile, 0), None
        values = {v.strip() for v in ','.join(lengths).split(',')}
        if len(values) != 1 or not next(iter(values)).isdigit():
            return None, 400
        return _LengthBody(self.rfile, int(next(iter(values)))), None

    def environ(self, body):
        target = self.path
        if not target.startswith('/') and '://' in target:  # absolute form: keep the path
            target = '/' + target.split('://', 1)[1].partition('/')[2]
        path, _, query = target.partition('?')
        env = {
            'REQUEST_METHOD': self.command,
            'SCRIPT_NAME': '',
            'PATH_INFO': unquote_to_bytes(path.encode('latin-1')).decode('latin-1'),
            'QUERY_STRING': query,
            'REQUEST_URI': self.path,
            'SERVER_NAME': self.server.server_name,
            'SERVER_PORT': str(self.server.server_port),
            'SERVER_PROTOCOL': self.request_version,
            'SERVER_SOFTWARE': 'python3-http-faasprov',
            'REMOTE_ADDR': self.client_address[0],
            'REMOTE_PORT': str(self.client_address[1]),
            'wsgi.version': (1, 0),
            'wsgi.url_scheme': 'http',
            'wsgi.input': body,
            'wsgi.errors': sys.stderr,
            'wsgi.multithread': True,
            'wsgi.multiprocess': False,
            'wsgi.run_once': False,
        }
        for name, value in self.headers.items():
            if '_' in name:
                continue  # as werkzeug: X_Y would pass for X-Y in the environ
            key = name.upper().replace('-', '_')
            value = value.replace('\r\n', '').strip()  # obsolete line folding, as werkzeug
            if key not in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
                key = 'HTTP_' + key
                if key in env:
                    value = env[key] + ',' + value
            env[key] = value
        if isinstance(body, _ChunkedBody):
            env.pop('CONTENT_LENGTH', None)
            env['wsgi.input_terminated'] = True
        return env

    def run_app(self):
        body, error = self._body()
        if error is not None:
            self.close_connection = True
            self.send_error(error)
            return
        env = self.environ(body)
        state = {'status': None, 'headers': None, 'sent': False}
        out = []

        def start_response(status, headers, exc_info=None):
            if exc_info:
                try:
                    if state['sent']:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            state['status'], state['headers'] = status, headers
            return out.append

        result = None
        try:
            try:
                result = self.app(env, start_response)
                for data in result:
                    if data:
                        out.append(data)
                if state['status'] is None:
                    raise RuntimeError('the app returned without calling start_response')
                head, payload = self._response(state['status'], state['headers'], out)
            except Exception as err:
                print('python3-http-faasprov: error serving %s %s:\n%s' % (self.command, self.path, traceback.format_exc()), file=sys.stderr, end='', flush=True)
                self.close_connection = True
                # The app had returned (its body failed, or it never started a response): the shim's
                # span would otherwise keep the status the app gave; tell it what is sent instead.
                told = getattr(result, 'server_error', None)
                if told is not None:
                    told(err)
                head, payload = self._response('500 Internal Server Error', [('Content-Type', 'text/plain; charset=utf-8')], [b'Internal Server Error'])
            state['sent'] = True
            self.wfile.write(head + payload if payload else head)
            if not self.close_connection and not body.drain(DRAIN_LIMIT):
                self.close_connection = True
        finally:
            if result is not None and hasattr(result, 'close'):
                result.close()  # after the whole response: the shim's end marker

    def _response(self, status, headers, chunks):
        payload = b''.join(chunks)
        names = {k.lower() for k, _ in headers}
        code = int(status.split(' ', 1)[0])
        lines = ['%s %s' % (self.protocol_version, status)]
        lines.extend('%s: %s' % (k, v) for k, v in headers)
        if 'date' not in names:
            lines.append('Date: ' + self.date_time_string())
        no_body = self.command == 'HEAD' or code < 200 or code in (204, 304)
        if 'content-length' not in names and not no_body:
            lines.append('Content-Length: %d' % len(payload))
        if 'transfer-encoding' in names:
            self.close_connection = True  # the body is written as given, whole: the connection ends it
        connection = next((v for k, v in headers if k.lower() == 'connection'), None)
        if connection is not None and connection.strip().lower() == 'close':
            self.close_connection = True
        elif self.close_connection:
            lines.append('Connection: close')
        return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1'), b'' if no_body else payload

    def log_request(self, code='-', size='-'):
        pass  # of-watchdog logs each request


class _Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True  # a connection held open does not keep the process from exiting
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer's server_bind looks the host's name up (getfqdn); the address is enough here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(host, port, app):
    """A threaded HTTP/1.1 server for WSGI app on host:port (port 0: any free one; an IPv6 host too)."""
    handler = type('Handler', (_Handler,), {'app': staticmethod(app)})
    return (_Server6 if ':' in host else _Server)((host, port), handler)
