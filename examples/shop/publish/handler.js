'use strict'
// publish: appends the order event to the shop's event stream (a file in the shop's data folder);
// only orders signed with the shop's key (a mounted OpenFaaS secret, read once at start) are taken.
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const data = process.env.SHOP_DATA || path.resolve(__dirname, '..', '..', '..', 'data')
const key = fs.readFileSync('/var/openfaas/secrets/payment-key', 'utf8').trim()

function signed (o) {
  if (!o || typeof o.signature !== 'string') return false
  const want = crypto.createHmac('sha256', key).update(`${o.product}|${o.price}|${o.authorization}`).digest()
  const got = Buffer.from(o.signature, 'hex')
  return got.length === want.length && crypto.timingSafeEqual(got, want)
}

module.exports = async (event, context) => {
  const order = event.body
  if (!signed(order)) return context.status(401).succeed({ error: 'order not signed with the shop key' })
  fs.mkdirSync(data, { recursive: true })
  fs.appendFileSync(path.join(data, 'events.log'), JSON.stringify({ type: 'order-placed', at: Date.now(), order }) + '\n')
  return context.status(200).succeed({ published: true })
}
