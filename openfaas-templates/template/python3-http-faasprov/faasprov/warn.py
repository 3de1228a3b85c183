"""The shim never breaks a function: what goes wrong in it is said once on stderr, then it goes quiet."""
import sys
import threading

_said = set()
_lock = threading.Lock()


def warn_once(topic, message):
    with _lock:
        if topic in _said:
            return False
        _said.add(topic)
    sys.stderr.write('faasprov: %s\n' % message)
    sys.stderr.flush()
    return True
