import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// log.requests: one access line per request, client IP read while the socket is attached
// (a helper saw a crash reading it in 'finish' through nginx; not reproduced here directly),
// access tokens redacted from the logged target.
t.test('log.requests logs each forwarded request', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { log: { requests: true } })
  // with Connection: close and with keep-alive
  for (let i = 0; i < 2; i++) {
    const res = await rawRequest(rg.port, 'GET /_matrix/client/versions?access_token=sekrit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    t.equal(res.status, 200)
  }
  const res = await request(`${rg.url}/_matrix/client/versions?access_token=sekrit`)
  t.equal(res.statusCode, 200)
  await res.body.text()
  await new Promise((resolve) => setTimeout(resolve, 50))
  const lines = rg.logs.filter((l) => l.msg === 'request')
  t.equal(lines.length, 3, 'one access line per request')
  t.match(lines[0], { method: 'GET', status: 200, client_ip: '127.0.0.1', target: '/_matrix/client/versions?access_token=<redacted>' })
  t.notMatch(JSON.stringify(rg.logs), /sekrit/, 'no access token in the logs')
})
