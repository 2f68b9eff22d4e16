import { createHash, timingSafeEqual } from 'node:crypto'
import type { MatrixErrorName } from '../errors.js'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/**
 * Checks `Authorization: Bearer <token>` against admin.token. Returns the error to answer
 * with, or null when the caller may proceed. Hashing first makes the comparison constant-time
 * whatever the lengths.
 */
export function checkAdminToken (configured: string, authorization: string | undefined): MatrixErrorName | null {
  if (configured === '') return 'ADMIN_DISABLED'
  const m = authorization === undefined ? null : /^Bearer +(\S+) *$/i.exec(authorization)
  if (m === null) return 'MISSING_TOKEN'
  return timingSafeEqual(digest(m[1] as string), digest(configured)) ? null : 'UNKNOWN_TOKEN'
}
