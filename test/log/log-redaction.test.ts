import fc from 'fast-check'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { redactTarget } from '../../src/log.js'
import { parseQs } from '../../src/synapse/twisted-args.js'

// log.requests: the logged target carries no secret however the client spells it (Twisted
// decodes names and splits on ";"), in the query or in a path segment that holds one.

const SECRET_NAMES = ['access_token', 'client_secret', 'token', 'sid', 'loginToken', 'password', 'next_link']

t.test('request lines of real proxied requests never contain a secret', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { log: { requests: true } })
  const targets: Array<[string, string[]]> = [
    ['/_matrix/client/v3/sync?%61ccess_token=SECRET1', ['SECRET1']],
    ['/_matrix/client/v3/sync?a=1;access_token=SECRET2', ['SECRET2']],
    ['/_matrix/client/v3/sync?access%5Ftoken=SECRET3', ['SECRET3']],
    ['/_matrix/client/v3/sync?access%5ftoken=SECRET4&x', ['SECRET4']],
    ['/_matrix/client/v3/sync?access+token=x&%20access_token=SECRET5', ['SECRET5']],
    ['/_matrix/client/v3/sync?access_token=%53%45CRET6', ['%53%45CRET6', 'SECRET6']],
    [`/_synapse/client/password_reset/email/submit_token?${SECRET_NAMES.map((n, i) => `${n}=SECRET_${i}`).join('&')}`, SECRET_NAMES.map((_n, i) => `SECRET_${i}`)],
    ['/_matrix/client/v3/register/email/submit_token?client_secret=CS7;sid=SID7;token=TOK7', ['CS7', 'SID7', 'TOK7']],
    ['/_synapse/client/oidc/callback?code=CODE8&state=STATE8', ['CODE8', 'STATE8']],
    ['/_matrix/client/v3/login?loginToken=LT9#frag', ['LT9']],
    ['/_matrix/client/v3/sync?SECRET10', ['SECRET10']],
    ['/_synapse/admin/v1/registration_tokens/REGTOKEN11', ['REGTOKEN11']],
    ['/_synapse/admin/v1/registration%5Ftokens/REGTOKEN12?x=1', ['REGTOKEN12']],
    ['/_synapse/client/rendezvous/RV13', ['RV13']],
    ['/_matrix/client/unstable/org.matrix.msc4108/rendezvous/RV14/x', ['RV14']]
  ]
  for (const [target] of targets) {
    const res = await rawRequest(rg.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    t.equal(res.status, 200, target)
  }
  t.equal(hs.received.length, targets.length, 'every request forwarded')
  t.same(hs.received.map((r) => r.url), targets.map(([target]) => target), 'targets forwarded as sent')
  await new Promise((resolve) => setTimeout(resolve, 50))
  const lines = rg.logs.filter((l) => l.msg === 'request')
  t.equal(lines.length, targets.length, 'one request line each')
  const all = JSON.stringify(rg.logs)
  for (const [target, secrets] of targets) {
    for (const secret of secrets) t.notOk(all.includes(secret), `${target}: ${secret} not in the logs`)
  }
  t.match(lines[0], { target: '/_matrix/client/v3/sync?%61ccess_token=<redacted>' }, 'names kept as sent')
  t.match(lines[11], { target: '/_synapse/admin/v1/registration_tokens/<redacted>' })
})

t.test('property: no value survives, and the names Twisted reads stay the same', async (t) => {
  const name = fc.oneof(
    fc.constantFrom(...SECRET_NAMES, '%61ccess_token', 'access%5Ftoken', 'client%5fsecret', 'login%54oken', 'a', ''),
    fc.string({ unit: fc.constantFrom('a', '%', '2', 'F', '+', '#', '?', '/', '\xe9'), maxLength: 5 })
  )
  const arb = fc.array(fc.tuple(name, fc.constantFrom('=', '=', '=', '=='), fc.nat(9999), fc.constantFrom('&', ';', '&&', ';&')), { minLength: 1, maxLength: 6 })
  const samples = fc.sample(arb, { numRuns: 3000, seed: 77 })
  let bad = 0
  for (const pairs of samples) {
    const query = pairs.map(([n, eq, v, sep]) => `${n}${eq}V${v}X${sep}`).join('')
    const out = redactTarget(`/p?${query}`)
    const leaked = pairs.some(([, , v]) => out.includes(`V${v}X`))
    const names = [...parseQs(query).keys()]
    const after = [...parseQs(out.slice(out.indexOf('?') + 1)).keys()]
    if ((leaked || JSON.stringify(names) !== JSON.stringify(after)) && bad++ < 5) t.fail(`${query} logged as ${out}`)
  }
  t.equal(bad, 0, 'targets that leaked a value or changed a name')
})
