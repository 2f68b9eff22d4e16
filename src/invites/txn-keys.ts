import { createHash } from 'node:crypto'

// The keys under which a PUT transaction is remembered. Synapse's HttpTransactionCache keys a
// request by its raw path plus the requester: (user, device) for users, the user for guests,
// the appservice for appservices, the access token for admin-minted tokens without a device.
// whoami does not say which kind of requester a token is, so regguard claims two keys and
// treats a request as new only when both are: (path, user, device) — or (path, user) for a
// guest — catches another token of the same device, (path, token) catches an appservice
// masquerading as another user (its one token) and a device-less token. Each key is at least
// as coarse as Synapse's for that kind of requester, so a request Synapse answers from its
// cache is never taken for a first one.

export interface Requester {
  user_id: string
  device_id: string | null
  is_guest: boolean
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex')

export function tokenDigest (token: string): string {
  return sha256(Buffer.from(token, 'latin1'))
}

/**
 * `rawPath`: the path as received (one char per byte, no query); `who`: whoami's answer for the
 * request's token, or null when it is unknown (then only the token key is claimed).
 */
export function txnKeys (rawPath: string, tokenHash: string, who: Requester | null): string[] {
  const path = Buffer.from(rawPath, 'latin1').toString('hex')
  const keys = [sha256(JSON.stringify(['token', path, tokenHash]))]
  if (who !== null) {
    keys.push(sha256(JSON.stringify(who.is_guest ? ['guest', path, who.user_id] : ['user', path, who.user_id, who.device_id ?? ''])))
  }
  return keys
}
