import type { LoadSpec } from './load.js'
import { ALLOWED_DOMAIN, DENIED_DOMAIN } from './regguard.js'
import { COUNTER } from './wrk.js'

// The HTTP scenarios of npm run bench: the load, the targets that take it and the reference
// regguard's ratio is taken against.

const TOKEN_PATH = '/_matrix/client/v3/register/email/requestToken'
/** A requestToken body; its address unique to each request (bench/wrk.ts fills in COUNTER) */
export const tokenBody = (domain: string): string => JSON.stringify({ client_secret: 'benchsecret', email: `someone${COUNTER}@${domain}`, send_attempt: 1 })
const JSON_HEADERS = { 'content-type': 'application/json' }

export const tokenSpec = (domain: string, connections: number): LoadSpec => ({ method: 'POST', path: TOKEN_PATH, body: tokenBody(domain), headers: JSON_HEADERS, connections })

export interface Scenario {
  key: string
  title: string
  spec: (connections: number, postConnections: number) => LoadSpec
  /** the targets measured, each on the same load, taken in turn */
  targets: string[]
  /** the reference a target ratio compares regguard with */
  reference: string
}

export const SCENARIOS: Scenario[] = [
  { key: 'get', title: 'pass-through GET /versions', targets: ['upstream', 'nginx', 'node-proxy', 'fastify-proxy', 'regguard'], reference: 'fastify-proxy', spec: (c) => ({ method: 'GET', path: '/_matrix/client/versions', connections: c }) },
  {
    key: 'post',
    title: 'pass-through 1 MiB POST',
    targets: ['upstream', 'nginx', 'node-proxy', 'fastify-proxy', 'regguard'],
    reference: 'fastify-proxy',
    spec: (_c, pc) => ({ method: 'POST', path: '/_matrix/media/v3/upload?filename=bench.bin', body: Buffer.alloc(2 ** 20, 0x61), headers: { 'content-type': 'application/octet-stream' }, connections: pc })
  },
  { key: 'denied', title: 'requestToken denied', targets: ['bare-403', 'fastify-403', 'regguard', 'regguard-noinvite'], reference: 'fastify-403', spec: (c) => tokenSpec(DENIED_DOMAIN, c) },
  { key: 'allowed', title: 'requestToken allowed', targets: ['nginx', 'fastify-proxy', 'regguard'], reference: 'fastify-proxy', spec: (c) => tokenSpec(ALLOWED_DOMAIN, c) }
]
