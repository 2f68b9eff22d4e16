import convict from 'convict'
import { parseDuration } from './duration.js'
import { storageKind } from '../store/url.js'

// The convict formats of the storage.* and invites.* keys (registered by config/schema.ts).
let added = false
export function addStoreFormats (): void {
  if (added) return
  added = true
  convict.addFormat({
    name: 'storage-url',
    validate (v: unknown) {
      if (typeof v !== 'string' || storageKind(v) === null) throw new Error(`must be sqlite://FILE or postgres://USER@HOST:PORT/DATABASE, got ${JSON.stringify(v)}`)
      if (v === 'sqlite://') throw new Error('sqlite:// needs a file name, e.g. sqlite://./data/regguard.sqlite')
    }
  })
  convict.addFormat({
    name: 'positive-duration',
    validate (v: unknown) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new Error(`must be a positive duration: milliseconds, or e.g. "7 days", got ${JSON.stringify(v)}`)
    },
    coerce (v: unknown) { return parseDuration(v) ?? v }
  })
  convict.addFormat({
    // Synapse keeps a transaction for up to 60 minutes: forgetting one sooner lets a replay teach
    name: 'txn-ttl',
    validate (v: unknown) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 3_600_000) throw new Error(`must be a duration of at least 1 hour, got ${JSON.stringify(v)}`)
    },
    coerce (v: unknown) { return parseDuration(v) ?? v }
  })
}
