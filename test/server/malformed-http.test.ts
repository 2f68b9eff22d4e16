import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// HTTP that Node's parser refuses still gets a Matrix error body, and nothing is forwarded.
t.test('malformed HTTP gets a JSON Matrix error', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  const garbage = await rawRequest(rg.port, 'NOT HTTP AT ALL\r\n\r\n')
  t.equal(garbage.status, 400)
  t.equal(garbage.headers['content-type'], 'application/json')
  t.same(JSON.parse(garbage.body), { errcode: 'M_UNRECOGNIZED', error: 'Malformed HTTP request' })
  const smuggle = await rawRequest(rg.port, 'POST /_matrix/client/v3/register/email/requestToken HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
  t.equal(smuggle.status, 400)
  t.equal(JSON.parse(smuggle.body).errcode, 'M_UNRECOGNIZED')
  const huge = await rawRequest(rg.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`)
  t.equal(huge.status, 431)
  t.equal(JSON.parse(huge.body).errcode, 'M_TOO_LARGE')
  t.equal(hs.received.length, 0)
})
