import { rawPost } from './raw-http.js'

// Small client steps shared by the /register test files.

export interface Answer { status: number, body: Record<string, unknown>, headers: Record<string, string> }

export async function post (port: number, target: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await rawPost(port, target, typeof body === 'string' ? body : JSON.stringify(body), { 'Content-Type': 'application/json', ...headers })
  let parsed: Record<string, unknown> = {}
  try { parsed = JSON.parse(r.body) as Record<string, unknown> } catch { parsed = { raw: r.body } }
  return { status: r.status, body: parsed, headers: r.headers }
}

export async function requestEmailToken (port: number, email: string, clientSecret: string, endpoint = 'register', prefix = 'v3'): Promise<Answer> {
  const path = endpoint === 'register' ? 'register' : 'account/3pid'
  return post(port, `/_matrix/client/${prefix}/${path}/email/requestToken`, { client_secret: clientSecret, email, send_attempt: 1 })
}

export function emailStage (sid: string, clientSecret: string, session?: string, key = 'threepid_creds'): Record<string, unknown> {
  return { auth: { type: 'm.login.email.identity', [key]: { sid, client_secret: clientSecret }, ...(session !== undefined ? { session } : {}) } }
}

export const POLICY = {
  register: {
    policy: {
      allowed: false,
      threepid: { email: { domain: { whitelist: ['*example.org'], blacklist: ['*evil.example'] } } }
    }
  }
}
