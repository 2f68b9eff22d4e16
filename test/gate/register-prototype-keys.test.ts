import t from 'tap'
import { request } from 'undici'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver } from '../helpers/uia-homeserver.js'
import { post } from '../helpers/register.js'

// auth.type is the client's: a name Object.prototype has ("constructor" once became a metric
// label, and was judged as a 3PID stage) must be just another unknown stage.

const REGISTER = '/_matrix/client/v3/register'
const PROTO = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']

for (const require3pid of [false, true]) {
  t.test(`require_3pid ${String(require3pid)}: prototype names as auth.type answer as an unknown stage`, async (t) => {
    const hs = await startUiaHomeserver(t)
    const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true, require_3pid: require3pid } } })
    const answer = async (type: string): Promise<{ status: number, errcode: unknown, arrived: number }> => {
      const before = hs.received.length
      const res = await post(rg.port, REGISTER, { username: 'u', password: 'p', auth: { type, session: 'nosuch', threepid_creds: { sid: 's', client_secret: 'c' } } })
      return { status: res.status, errcode: res.body.errcode, arrived: hs.received.length - before }
    }
    const unknown = await answer('m.login.no_such_stage')
    for (const type of PROTO) t.same(await answer(type), unknown, `${type}: as an unknown stage`)
    t.same(hs.accounts, [])

    const metrics = await (await request(`${rg.adminUrl}/metrics`)).body.text()
    const labels = [...metrics.matchAll(/^regguard_policy_decisions_total\{([^}]*)\}/gm)].map((m) => m[1] as string)
    const media = new Set(labels.map((l) => /medium="([^"]*)"/.exec(l)?.[1]))
    t.same([...media].filter((m) => m !== 'email' && m !== 'msisdn' && m !== 'none'), [], 'no odd medium label')
    t.notMatch(metrics, /function|native code/, 'no function text in /metrics')
  })
}
