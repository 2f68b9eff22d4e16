import { randomBytes } from 'node:crypto'
import { startHomeserver, type Homeserver, type Received } from './homeserver.js'

// A stand-in homeserver with Synapse-like user-interactive auth at /register, so back-door tests
// can see whether an account was actually created. Flows as in issue 4:
// [[m.login.dummy]], [[m.login.email.identity]], [[m.login.recaptcha, m.login.dummy]], [[m.login.registration_token]]

export const UIA_FLOWS = [['m.login.dummy'], ['m.login.email.identity'], ['m.login.recaptcha', 'm.login.dummy'], ['m.login.registration_token']]

export interface UiaHomeserver extends Homeserver {
  /** user ids of the accounts created, with the 3PID bound to each (if any) */
  accounts: Array<{ user_id: string, threepid: string | null }>
  /** validation sessions: sid -> email/phone it validated */
  validated: Map<string, { client_secret: string, address: string }>
}

interface UiaSession { completed: Set<string>, threepid: string | null, registered: string | null }

function json (status: number, body: unknown): { status: number, headers: Record<string, string>, body: string } {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }
}

export async function startUiaHomeserver (t: { teardown: (fn: () => unknown) => void }, flows: string[][] = UIA_FLOWS): Promise<UiaHomeserver> {
  const hs = await startHomeserver(t) as UiaHomeserver
  hs.accounts = []
  hs.validated = new Map()
  const sessions = new Map<string, UiaSession>()
  let n = 0
  hs.respond((r: Received) => {
    const path = r.url.split('?')[0] ?? ''
    let body: Record<string, unknown> = {}
    try { body = JSON.parse(r.body.toString() || '{}') as Record<string, unknown> } catch { return json(400, { errcode: 'M_NOT_JSON', error: 'Content not JSON.' }) }
    if (path.endsWith('/requestToken')) {
      // validated at once: the stand-in plays the user clicking the link
      const sid = 'sid' + String(++n)
      const address = typeof body.email === 'string' ? body.email.toLowerCase() : String(body.phone_number)
      hs.validated.set(sid, { client_secret: String(body.client_secret), address })
      return json(200, { sid })
    }
    if (!/\/register$/.test(path)) return json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' })
    if (r.url.includes('kind=guest')) {
      const user = `@guest${++n}:hs`
      hs.accounts.push({ user_id: user, threepid: null })
      return json(200, { user_id: user, access_token: 'guest', device_id: 'D' })
    }
    const auth = (body.auth ?? {}) as Record<string, unknown>
    if (auth.type === 'm.login.application_service') {
      if (r.headers.authorization !== 'Bearer as_token') return json(401, { errcode: 'M_MISSING_TOKEN', error: 'Missing access token.' })
      const user = `@${String(body.username)}:hs`
      hs.accounts.push({ user_id: user, threepid: null })
      return json(200, { user_id: user })
    }
    let sid = typeof auth.session === 'string' ? auth.session : null
    if (sid !== null && !sessions.has(sid)) return json(400, { errcode: 'M_UNKNOWN', error: 'Unknown session ID' })
    if (sid === null) { sid = randomBytes(6).toString('hex'); sessions.set(sid, { completed: new Set(), threepid: null, registered: null }) }
    const s = sessions.get(sid) as UiaSession
    if (s.registered !== null) return json(200, { user_id: s.registered, access_token: 'again', device_id: 'D2' })
    const type = auth.type
    if (typeof type === 'string') {
      let ok = false
      if (type === 'm.login.dummy') ok = true
      if (type === 'm.login.recaptcha') ok = auth.response === 'ok'
      if (type === 'm.login.registration_token') ok = auth.token === 'valid'
      if (type === 'm.login.email.identity' || type === 'm.login.msisdn') {
        const creds = (auth.threepid_creds ?? auth.threePidCreds) as { sid?: string, client_secret?: string } | undefined
        const v = creds?.sid !== undefined ? hs.validated.get(creds.sid) : undefined
        ok = v !== undefined && v.client_secret === creds?.client_secret
        if (ok) s.threepid = (v as { address: string }).address
      }
      if (!ok) return json(401, { errcode: 'M_UNAUTHORIZED', error: 'stage failed', session: sid, flows: flows.map((stages) => ({ stages })), params: {}, completed: [...s.completed] })
      s.completed.add(type)
    }
    if (flows.some((f) => f.every((st) => s.completed.has(st)))) {
      const user = `@${typeof body.username === 'string' ? body.username : 'user' + String(++n)}:hs`
      s.registered = user
      hs.accounts.push({ user_id: user, threepid: s.threepid })
      return json(200, { user_id: user, access_token: 'tok', device_id: 'D' })
    }
    return json(401, { session: sid, flows: flows.map((stages) => ({ stages })), params: {}, completed: [...s.completed] })
  })
  return hs
}
