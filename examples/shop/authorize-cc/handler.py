"""authorize-cc: checks a card and signs the authorization with the payment key (a mounted
OpenFaaS secret, read once when the instance starts).

It has a deliberate flaw, the one attack (a) uses: a request may name a "card-network plugin" URL,
which is downloaded into the function's own plugins/ folder and loaded by every later invocation
of the same (warm) instance.
"""
import hashlib
import importlib.util
import json
import os
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.path.join(HERE, 'plugins')
with open('/var/openfaas/secrets/payment-key', 'rb') as f:
    KEY = f.read().strip()


def luhn(card):
    digits = [int(c) for c in card if c.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    return len(digits) >= 12 and total % 10 == 0


def plugins():
    sys.dont_write_bytecode = True  # no __pycache__ beside the plugins
    loaded = []
    if os.path.isdir(PLUGINS):
        for name in sorted(os.listdir(PLUGINS)):
            if name.endswith('.py'):
                spec = importlib.util.spec_from_file_location('plugin_' + name[:-3], os.path.join(PLUGINS, name))
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                loaded.append(mod)
    return loaded


def handle(event, context):
    req = json.loads(event.body or b'{}')
    url = req.get('network_plugin_url')
    if url:  # the flaw: an unauthenticated download into the code directory
        os.makedirs(PLUGINS, exist_ok=True)
        body = urllib.request.urlopen(url, timeout=10).read()
        with open(os.path.join(PLUGINS, os.path.basename(url) or 'plugin.py'), 'wb') as f:
            f.write(body)
    card = str(req.get('card', ''))
    for p in plugins():
        if hasattr(p, 'on_authorize'):
            p.on_authorize(req)
    approved = luhn(card)
    authorization = hashlib.sha256(KEY + card.encode()).hexdigest()[:16] if approved else None
    return {'statusCode': 200, 'body': json.dumps({'approved': approved, 'authorization': authorization}), 'headers': {'content-type': 'application/json'}}
