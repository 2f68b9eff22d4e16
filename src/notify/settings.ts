import type { Branch } from '../config/schema.js'

// notify.*: telling the applicant (SMTP) and the operators (a Matrix room, a webhook). The keys
// live here, beside the code that reads them; src/config/schema.ts mounts the branch.

export type SmtpTls = 'starttls' | 'tls' | 'none'

export interface NotifySettings {
  smtp: { host: string, port: number, tls: SmtpTls, user: string, password: string, from: string, timeout_ms: number }
  matrix: { room_id: string, access_token: string }
  webhook: string
  webhook_secret: string
  denials: boolean
  denials_per_hour: number
  max_queued: number
  attempts: number
  timeout_ms: number
}

function oneOf (values: readonly string[]): (v: unknown) => void {
  return (v) => { if (typeof v !== 'string' || !values.includes(v)) throw new Error(`must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${JSON.stringify(v)}`) }
}

function optionalUrl (v: unknown): void {
  if (typeof v !== 'string') throw new Error('must be a URL string')
  if (v === '') return
  let u: URL
  try { u = new URL(v) } catch { throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(v)}`) }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(v)}`)
}

function optionalRoomId (v: unknown): void {
  if (typeof v !== 'string') throw new Error('must be a room ID string')
  if (v !== '' && !/^![^:\s]+:\S+$/.test(v)) throw new Error(`must be a room ID such as "!abc:example.org", got ${JSON.stringify(v)}`)
}

export function notifyBranch (): Branch {
  return {
    smtp: {
      host: { doc: 'SMTP server that mails approved applicants. Empty: no mail (the admin API and the console say the applicant was not told).', format: String, default: '' },
      port: { doc: 'Its port.', format: 'port', default: 587 },
      tls: { doc: '"starttls" (upgrade required), "tls" (TLS from the start, usually port 465) or "none" (plain; loopback only).', format: oneOf(['starttls', 'tls', 'none']), default: 'starttls' },
      user: { doc: 'SMTP user. Empty: no authentication.', format: String, default: '' },
      password: { doc: 'SMTP password.', format: String, default: '', sensitive: true },
      from: { doc: 'The From address of the mails.', format: String, default: 'regguard@localhost' },
      timeout_ms: { doc: 'How long one mail may take to send before the approval reports it not sent.', format: 'positive-int', default: 15000 }
    },
    matrix: {
      room_id: { doc: 'Room the operators\' notices are sent to (registrations through the gate, new access requests, denials with notify.denials). Empty: none.', format: optionalRoomId, default: '' },
      access_token: { doc: 'Access token of a bot account on the homeserver (homeserver.url) joined to that room.', format: String, default: '', sensitive: true }
    },
    webhook: { doc: 'URL the same notices are POSTed to as JSON, signed in X-Regguard-Signature ("sha256=" and the hex HMAC-SHA256 of the body under notify.webhook_secret). Empty: none.', format: optionalUrl, default: '' },
    webhook_secret: { doc: 'Key of the webhook signature. Empty: the header is not sent.', format: String, default: '', sensitive: true },
    denials: { doc: 'Also notify each policy denial of a requestToken (rate-limited by notify.denials_per_hour).', format: 'boolean', default: false },
    denials_per_hour: { doc: 'Most denial notices per hour, per instance; past it they are counted, not sent.', format: 'nat', default: 60 },
    max_queued: { doc: 'Most notices waiting to be sent (or retried) in memory, per channel; past it new ones are dropped and counted.', format: 'positive-int', default: 1000 },
    attempts: { doc: 'Tries per notice (with backoff doubling from a second) before it is given up and counted as failed.', format: 'positive-int', default: 6 },
    timeout_ms: { doc: 'How long one send to the room or the webhook may take.', format: 'positive-int', default: 10000 }
  }
}
