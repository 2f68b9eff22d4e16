import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'
import type { StoreWatch } from './guarded.js'

/**
 * Counts store failures and logs when the store goes away and when it answers again: once per
 * change, not once per request (each refused request logs its own line).
 */
export function storeWatch (metrics: Metrics, log: Pick<Logger, 'error' | 'info'>): StoreWatch {
  let down = false
  return {
    failed (operation, err) {
      metrics.storeErrors.inc({ operation })
      if (down) return
      down = true
      log.error({ err, operation }, 'store unavailable: requests that need it are refused with a temporary error until it answers')
    },
    answered () {
      if (!down) return
      down = false
      log.info('store answering again')
    }
  }
}
