import { createHash } from 'node:crypto'
import pino from 'pino'
import type { Medium } from './policy/canonical.js'

export type Logger = pino.Logger

export function createLogger (level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { name: 'regguard' } }, destination ?? pino.destination({ fd: 1, sync: false }))
}

function shortHash (s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 12)
}

/** An address as it may appear in logs: the domain kept, the local part (or number) hashed. */
export function redactAddress (medium: Medium, address: string, full: boolean): string {
  if (full) return address
  if (medium === 'email') {
    const at = address.lastIndexOf('@')
    return `${shortHash(address.slice(0, at))}@${address.slice(at + 1)}`
  }
  return `msisdn:${shortHash(address)}`
}

/** A request target fit for logs: access tokens in the query string are replaced. */
export function redactTarget (target: string): string {
  return target.replace(/([?&]access_token=)[^&]*/g, '$1<redacted>')
}
