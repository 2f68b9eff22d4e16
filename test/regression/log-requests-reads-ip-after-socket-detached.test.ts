import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'

// Bug: with log.requests on, the access-log line read request.ip in the response's 'finish'
// handler, after Node had detached the socket; the TypeError killed the process.
t.test('log.requests logs forwarded requests without crashing', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { log: { requests: true } })
  for (let i = 0; i < 3; i++) {
    const res = await request(`${rg.url}/_matrix/client/versions?access_token=sekrit`)
    t.equal(res.statusCode, 200)
    await res.body.text()
  }
  await new Promise((resolve) => setTimeout(resolve, 50))
  const lines = rg.logs.filter((l) => l.msg === 'request')
  t.equal(lines.length, 3, 'one access line per request')
  t.match(lines[0], { method: 'GET', status: 200, client_ip: '127.0.0.1', target: '/_matrix/client/versions?access_token=<redacted>' })
  t.notMatch(JSON.stringify(rg.logs), /sekrit/, 'no access token in the logs')
})
