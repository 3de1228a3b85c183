'use strict'
// publish: appends the order event to the shop's event stream (a file in the shop's data folder).
const fs = require('node:fs')
const path = require('node:path')

const data = process.env.SHOP_DATA || path.resolve(__dirname, '..', '..', '..', 'data')

module.exports = async (event, context) => {
  fs.mkdirSync(data, { recursive: true })
  fs.appendFileSync(path.join(data, 'events.log'), JSON.stringify({ type: 'order-placed', at: Date.now(), order: event.body }) + '\n')
  return context.status(200).succeed({ published: true })
}
