"""catalog: product files on the shop's durable volume (an F3 durable volume when the agent is told so)."""
import json
import os
import re

CATALOG = os.environ.get('SHOP_CATALOG') or os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'data', 'catalog')


def handle(event, context):
    os.makedirs(CATALOG, exist_ok=True)
    if event.method == 'POST':
        product = json.loads(event.body or b'{}')
        pid = str(product.get('id', ''))
        if not re.fullmatch(r'[a-z0-9-]{1,64}', pid):
            return {'statusCode': 400, 'body': json.dumps({'error': 'id must be [a-z0-9-]{1,64}'})}
        with open(os.path.join(CATALOG, pid + '.json'), 'w') as f:
            json.dump(product, f)
        return {'statusCode': 201, 'body': json.dumps({'stored': pid})}
    items = []
    for name in sorted(os.listdir(CATALOG)):
        if name.endswith('.json'):
            with open(os.path.join(CATALOG, name)) as f:
                items.append(json.load(f))
    return {'statusCode': 200, 'body': json.dumps(items), 'headers': {'content-type': 'application/json'}}
