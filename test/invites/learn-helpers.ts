import { rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { startSynapseLike, type SynapseLike } from '../helpers/synapse-like.js'
import { ADMIN_TOKEN, eventually, listInvites } from './helpers.js'

// Invite learning against the Synapse-like stand-in (test/helpers/synapse-like.ts).

type Teardown = { teardown: (fn: () => unknown) => void }

export async function learnSetup (t: Teardown, config: Record<string, any> = {}): Promise<{ hs: SynapseLike, rg: Started }> {
  const hs = await startSynapseLike(t)
  const rg = await startRegguard(t, hs.url, {
    ...config,
    admin: { token: ADMIN_TOKEN, ...(config.admin ?? {}) },
    homeserver: { server_name: 'example.org', ...(config.homeserver ?? {}) }
  })
  return { hs, rg }
}

export function send (port: number, method: 'PUT' | 'POST', target: string, body: string, token: string | null, headers: Record<string, string> = {}): Promise<RawResponse> {
  const b = Buffer.from(body)
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', `Content-Length: ${b.length}`]
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) lines.push('Content-Type: application/json')
  if (token !== null) lines.push(`Authorization: Bearer ${token}`)
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  return rawRequest(port, Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), b]), 10_000)
}

export const createRoomBody = (...addresses: string[]): string =>
  JSON.stringify({ name: 'r', invite_3pid: addresses.map((address) => ({ id_server: 'is.example.org', id_access_token: 'x', medium: 'email', address })) })

export const roomInviteBody = (address: string): string => JSON.stringify({ id_server: 'is.example.org', id_access_token: 'x', medium: 'email', address })

/** Waits for the "invite not learned" log line with this reason. */
export async function notLearned (rg: Started, reason: string, ms = 5000): Promise<Record<string, unknown> | undefined> {
  return await eventually(async () => rg.logs.find((l) => l.msg === 'invite not learned' && l.reason === reason), ms)
}

/** Waits until exactly `n` invites are listed (or times out) and returns the list. */
export async function invitesWhen (rg: Started, n: number, ms = 5000): Promise<Awaited<ReturnType<typeof listInvites>>> {
  return (await eventually(async () => { const l = await listInvites(rg.adminUrl); return l.length === n ? l : undefined }, ms)) ?? await listInvites(rg.adminUrl)
}

export const REQUEST_TOKEN = '/_matrix/client/v3/register/email/requestToken'

export function requestToken (port: number, email: string): Promise<RawResponse> {
  const body = JSON.stringify({ client_secret: 'cs' + email.length, email, send_attempt: 1 })
  return send(port, 'POST', REQUEST_TOKEN, body, null)
}
