import { allRawHeaders, type Args } from './twisted-args.js'

// Synapse's get_access_token_from_request (synapse/api/auth/base.py): the token of a request,
// or why Synapse would refuse to find one. regguard asks the homeserver who a token belongs to
// only with the token Synapse itself would use.

export type TokenReading =
  | { ok: true, token: string, from: 'header' | 'args' }
  | { ok: false, why: 'missing' | 'mixed' | 'too-many-headers' | 'invalid-header' | 'not-ascii' }

const ASCII = /^[\x00-\x7f]*$/

export function accessToken (rawHeaders: readonly string[], args: Args): TokenReading {
  const auth = allRawHeaders(rawHeaders, 'authorization')
  const query = args.get('access_token')
  if (auth.length > 0) {
    if (query !== undefined) return { ok: false, why: 'mixed' }
    if (auth.length > 1) return { ok: false, why: 'too-many-headers' }
    const parts = (auth[0] as string).split(' ')
    if (parts[0] !== 'Bearer' || parts.length !== 2) return { ok: false, why: 'invalid-header' }
    const token = parts[1] as string
    return ASCII.test(token) ? { ok: true, token, from: 'header' } : { ok: false, why: 'not-ascii' }
  }
  // `not query_params`: an absent name and an empty list both mean no token
  if (query === undefined || query.length === 0) return { ok: false, why: 'missing' }
  const token = query[0] as string
  return ASCII.test(token) ? { ok: true, token, from: 'args' } : { ok: false, why: 'not-ascii' }
}
