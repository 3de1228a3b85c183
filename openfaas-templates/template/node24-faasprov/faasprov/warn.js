'use strict'
// The shim never breaks a function: what goes wrong in it is said once on stderr, then it goes quiet.

const said = new Set()

function warnOnce (topic, message) {
  if (said.has(topic)) return false
  said.add(topic)
  process.stderr.write(`faasprov: ${message}\n`)
  return true
}

module.exports = { warnOnce }
