// Which requests regguard polices, decided exactly as Synapse routes them: on the raw request
// target (never percent-decoded or normalised), case-sensitive, anchored, query excluded.

export type Endpoint = 'register' | 'account'

export interface TokenRoute {
  kind: 'requestToken'
  endpoint: Endpoint
  medium: 'email' | 'msisdn'
}

export type Route = TokenRoute | { kind: 'forward' }

const TOKEN = /^\/_matrix\/client\/(?:r0|v3|unstable)\/(register|account\/3pid)\/(email|msisdn)\/requestToken$/

export const FORWARD: Route = { kind: 'forward' }

/** The path part of a raw request target: everything before the first "?". */
export function rawPath (target: string): string {
  const q = target.indexOf('?')
  return q === -1 ? target : target.slice(0, q)
}

export function classify (method: string, target: string): Route {
  // cheap prefix test first: almost every request is not policed
  if (method !== 'POST' || !target.startsWith('/_matrix/client/')) return FORWARD
  const m = TOKEN.exec(rawPath(target))
  if (m === null) return FORWARD
  return {
    kind: 'requestToken',
    endpoint: m[1] === 'register' ? 'register' : 'account',
    medium: m[2] as 'email' | 'msisdn'
  }
}
