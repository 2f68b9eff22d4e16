import { request } from 'undici'
import type { Invite } from '../../src/store/store.js'

// Talking to regguard's admin listener in tests.

export const ADMIN_TOKEN = 'test-admin-token-0123456789'

export interface JsonAnswer { status: number, body: any }

export async function adminCall (adminUrl: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<JsonAnswer> {
  const headers: Record<string, string> = {}
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await request(adminUrl + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

export async function addInvite (adminUrl: string, medium: string, address: string, expiresInMs?: number): Promise<Invite> {
  const r = await adminCall(adminUrl, 'POST', '/_regguard/admin/v1/invites', { medium, address, ...(expiresInMs !== undefined ? { expires_in_ms: expiresInMs } : {}) })
  if (r.status !== 201) throw new Error(`adding an invite answered ${r.status} ${JSON.stringify(r.body)}`)
  return r.body as Invite
}

export async function listInvites (adminUrl: string, query = ''): Promise<Invite[]> {
  const r = await adminCall(adminUrl, 'GET', `/_regguard/admin/v1/invites?limit=1000${query}`)
  if (r.status !== 200) throw new Error(`listing invites answered ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.invites as Invite[]
}

/** Polls until `check` returns a value (not undefined), for at most `ms`. */
export async function eventually<T> (check: () => Promise<T | undefined>, ms = 5000): Promise<T | undefined> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== undefined || Date.now() > deadline) return v
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
