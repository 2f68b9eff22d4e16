import type { IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/log.js'
import { GateRequest } from '../../src/gate/request.js'
import { makeRuntime } from '../../src/runtime.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'

// The gate's own listener (a plain node:http server): what fastify did for it before is still
// done, shutdown answers a Matrix error on kept-alive connections, and a request's client
// address and logger are made only when asked for.

/** Everything the server sends on this connection until it closes it. */
function readToClose (socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
    socket.once('close', () => { resolve(text) })
  })
}

t.test('shutdown: a request arriving on a kept-alive connection after it began gets 503 SHUTTING_DOWN and never reaches the homeserver; the one in flight is answered', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  const socket = connect(rg.port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  await new Promise((resolve) => socket.once('connect', resolve))
  const everything = readToClose(socket)
  // a slow answer keeps the connection busy while close() starts, so close() cannot drop it as idle
  hs.respond((r) => r.url.includes('/slow') ? { status: 200, body: '{"slow":true}', headers: { 'Content-Type': 'application/json' }, delayMs: 300 } : undefined)
  socket.write('GET /_matrix/client/v3/slow HTTP/1.1\r\nHost: h\r\n\r\n')
  while (hs.receivedMatching('/slow').length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  const closing = rg.app.proxy.close()
  socket.write('GET /_matrix/client/versions HTTP/1.1\r\nHost: h\r\n\r\n')
  const text = await everything
  const answers = text.split(/(?=HTTP\/1\.1 )/)
  t.equal(answers.length, 2, 'two answers, then the connection closed')
  t.match(answers[0], /^HTTP\/1\.1 200 /, 'the request in flight when shutdown began is answered')
  t.match(answers[0], /\{"slow":true\}/)
  t.match(answers[1], /^HTTP\/1\.1 503 /)
  t.match(answers[1], /\r\nConnection: close\r\n/i)
  const second = answers[1] as string
  t.same(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)), { errcode: 'M_UNKNOWN', error: 'This server is restarting; please try again' })
  t.equal(hs.receivedMatching('/versions').length, 0, 'the second request never reached the homeserver')
  await closing
  t.equal(rg.app.proxy.inFlight(), 0, 'nothing is left in flight once closed')
  t.equal(rg.app.proxy.server.listening, false)
})

t.test('a request: its client address is worked out when asked, and is empty once the connection is gone', async (t) => {
  const config = loadConfig({ object: { homeserver: { url: 'http://127.0.0.1:1' }, server: { trusted_proxies: ['127.0.0.1'] } }, env: {} })
  const runtime = makeRuntime(config)
  const logger = createLogger('silent')
  const headers = { 'x-forwarded-for': '203.0.113.7, 127.0.0.1' }
  const raw = { url: '/x?y', headers, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage
  const request = new GateRequest(raw, runtime, logger)
  t.equal(request.target, '/x?y', 'the target as received')
  t.equal(request.ip, '203.0.113.7', 'X-Forwarded-For read through the trusted proxies')
  const untrusted = new GateRequest({ url: '/', headers, socket: { remoteAddress: '198.51.100.1' } } as unknown as IncomingMessage, runtime, logger)
  t.equal(untrusted.ip, '198.51.100.1', 'an untrusted peer is the client itself')
  const gone = new GateRequest({ url: '/', headers, socket: null } as unknown as IncomingMessage, runtime, logger)
  t.equal(gone.ip, '', 'no connection: no address, and no exception')
  t.equal(request.logs('info'), false, 'a level check asks the base logger')
  t.not(request.log, logger, 'the request has a logger of its own')
  t.equal(request.log, request.log, 'made once')
})
