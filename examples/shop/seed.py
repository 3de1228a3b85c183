"""Fills the shop's SQLite datastore (data/shop.db) with its prices; run before the shop serves."""
import os
import sqlite3
import sys

data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
os.makedirs(os.path.join(data, 'catalog'), exist_ok=True)
db = sqlite3.connect(os.path.join(data, 'shop.db'))
db.execute('CREATE TABLE IF NOT EXISTS prices (product TEXT PRIMARY KEY, cents INTEGER NOT NULL)')
db.executemany('INSERT OR REPLACE INTO prices VALUES (?, ?)', [('mug', 1200), ('tee', 2500), ('cap', 1800)])
db.commit()
db.close()
