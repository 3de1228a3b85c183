'use strict'
// purchase: price and card authorization in parallel, then the order event, async (as Hello,Retail!),
// signed with the shop's key (a mounted OpenFaaS secret, read once at start), which publish checks.
const crypto = require('node:crypto')
const fs = require('node:fs')
const gateway = process.env.gateway_url
const key = fs.readFileSync('/var/openfaas/secrets/payment-key', 'utf8').trim()
const sign = (o) => crypto.createHmac('sha256', key).update(`${o.product}|${o.price}|${o.authorization}`).digest('hex')

async function call (fn, body) {
  const r = await fetch(`${gateway}/function/${fn}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await r.text()
  if (!r.ok) throw new Error(`${fn} answered ${r.status}: ${text}`)
  return JSON.parse(text)
}

module.exports = async (event, context) => {
  const { product, card } = event.body || {}
  if (typeof product !== 'string' || typeof card !== 'string') return context.status(400).succeed({ error: 'needs product and card' })
  try {
    const [price, auth] = await Promise.all([call('get-price', { product }), call('authorize-cc', { card, amount: null, product })])
    if (!auth.approved) return context.status(402).succeed({ error: 'card declined' })
    const order = { product, price: price.price, authorization: auth.authorization }
    await fetch(`${gateway}/async-function/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...order, signature: sign(order) }) })
    return context.status(200).headers({ 'content-type': 'application/json' }).succeed(order)
  } catch (err) {
    return context.status(502).succeed({ error: String(err.message || err) })
  }
}
