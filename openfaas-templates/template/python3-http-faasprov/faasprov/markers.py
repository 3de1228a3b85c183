"""Invocation markers for the faasprov agent.

One write() of "faasprov:B:CALL_ID[ FUNCTION]" or "faasprov:E:CALL_ID" to a descriptor opened on
/dev/null. The agent's kernel program knows the descriptor by the path it was opened with, and the
thread that writes a begin marker is the thread whose work belongs to that invocation until its end
marker: each request is served on one thread from before its body is read to after its response is
written, so requests served at the same time by several threads are told apart.
"""
import os
import re
import threading
import time

from .warn import warn_once

# What the agent accepts (agent/src/sensor/parse.ts).
CALL_ID = re.compile(r'^[\x21-\x7e]{1,128}$')
FUNCTION_NAME = re.compile(r'^[A-Za-z0-9._-]{1,253}$')


class Markers:
    def __init__(self, function_name=None):
        self.function_name = function_name if function_name and FUNCTION_NAME.match(function_name) else None
        self.fd = -1
        try:
            # Opened once at start, so a warm instance's descriptor is found by an agent started later.
            self.fd = os.open('/dev/null', os.O_WRONLY | os.O_CLOEXEC)
        except OSError as err:
            warn_once('markers', 'cannot open /dev/null for invocation markers (%s); invocations will not be split into units' % err)
        # Test hook: FAASPROV_MARKER_LOG names a file that also gets "THREAD_ID<TAB>MONOTONIC_NS<TAB>MARKER" lines.
        self.log_fd = -1
        log = os.environ.get('FAASPROV_MARKER_LOG')
        if log:
            self.log_fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def begin(self, call_id):
        text = 'faasprov:B:%s %s' % (call_id, self.function_name) if self.function_name else 'faasprov:B:%s' % call_id
        self._write(text)

    def end(self, call_id):
        self._write('faasprov:E:%s' % call_id)

    def _write(self, text):
        data = text.encode('ascii')
        if self.fd >= 0:
            try:
                os.write(self.fd, data)  # one write(2), on the calling thread
            except OSError as err:
                warn_once('markers', 'invocation marker write failed (%s); markers are off from now on' % err)
                self.fd = -1
        if self.log_fd >= 0:
            os.write(self.log_fd, b'%d\t%d\t%s\n' % (threading.get_native_id(), time.monotonic_ns(), data))
