"""get-price: a product's price from the shop's SQLite datastore (read-only; seed.py fills it)."""
import json
import os
import sqlite3

DATA = os.environ.get('SHOP_DATA') or os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'data')


def prices():
    return sqlite3.connect('file:%s?mode=ro' % os.path.join(DATA, 'shop.db'), uri=True, timeout=10)


def handle(event, context):
    product = json.loads(event.body or b'{}').get('product')
    db = prices()
    try:
        row = db.execute('SELECT cents FROM prices WHERE product = ?', (product,)).fetchone()
    finally:
        db.close()
    if row is None:
        return {'statusCode': 404, 'body': json.dumps({'error': 'no such product'})}
    return {'statusCode': 200, 'body': json.dumps({'product': product, 'price': row[0]}), 'headers': {'content-type': 'application/json'}}
