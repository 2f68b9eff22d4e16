import cluster from 'node:cluster'
import type { AddressInfo } from 'node:net'
import type { BuildOptions, RegguardApp } from './app.js'
import { ConfigError, loadConfig, type LoadedConfig } from './config/load.js'
import { createLogger, type Logger } from './log.js'
import { StoreOpenError } from './store/store.js'
import { reportStartup } from './startup-report.js'

// Runs regguard: loads config, listens, and handles signals. Everything else is in app.ts.

export interface Running {
  app: RegguardApp
  /** null: server.enabled false (no gate: a MAS feeder) */
  proxyAddress: AddressInfo | null
  adminAddress: AddressInfo
  /** Stop accepting, let in-flight requests finish (up to the timeout), close everything. */
  shutdown: () => Promise<void>
  /** Re-read the config file; a bad one is refused and the old one stays. */
  reload: () => boolean
}

export async function start (config: LoadedConfig, logger: Logger, opts: Omit<BuildOptions, 'logger'> = {}): Promise<Running> {
  // loaded here, not at the top: a cluster's primary imports this file and serves nothing
  const { buildApp } = await import('./app.js')
  const app = await buildApp(config, { ...opts, logger })
  const inFlight = app.proxy.inFlight
  const s = config.settings
  if (s.server.enabled) await app.proxy.listen({ host: s.server.host, port: s.server.port })
  await app.admin.listen({ host: s.admin.host, port: s.admin.port })
  const proxyAddress = s.server.enabled ? app.proxy.server.address() as AddressInfo : null
  const adminAddress = app.admin.server.address() as AddressInfo
  logger.info({ proxy: proxyAddress, admin: adminAddress, homeserver: s.homeserver.url, mas: s.mas.url !== '' ? s.mas.url : undefined, config: config.file }, 'regguard listening')
  // the policy in a sentence, and warnings for what users would otherwise find out first
  reportStartup(config, app.context, logger)
  // the first push waits for the lists' first fetches, never the listeners; errors end in its status
  void app.context.mas?.start()

  let current = config
  let stopping: Promise<void> | null = null
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ in_flight: inFlight() }, 'shutting down: no new connections, finishing in-flight requests')
      const closing = app.close()
      const deadline = Date.now() + current.settings.server.shutdown_timeout_ms
      while (inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      // idle keep-alive connections would otherwise hold close() open until they time out
      app.proxy.server.closeAllConnections()
      app.admin.server.closeAllConnections()
      await closing
      logger.info('stopped')
    })()
    return stopping
  }
  const reload = (): boolean => {
    // SIGHUP also refreshes the live lists, in the background: the reload never waits on them
    const refresh = (): void => { void app.context.lists.refreshAll() }
    try {
      const next = loadConfig({ file: current.file })
      app.reconfigure(next)
      current = next
      app.context.metrics.configReloads.inc({ result: 'ok' })
      logger.info({ config: next.file }, 'configuration reloaded')
      refresh()
      return true
    } catch (err) {
      app.context.metrics.configReloads.inc({ result: 'refused' })
      logger.error({ err: (err as Error).message }, 'configuration reload refused; the previous configuration stays in force')
      refresh()
      return false
    }
  }
  return { app, proxyAddress, adminAddress, shutdown, reload }
}

/** The configuration `regguard serve` runs with; a bad one ends the process with status 2. */
export function configOrExit (file: string | null): LoadedConfig {
  try {
    return loadConfig({ file })
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : String(err)
    process.stderr.write(`regguard: ${msg}\n`)
    process.exit(2)
  }
}

/** start(), or the process ends with status 2 when the store cannot be opened. */
export async function startOrExit (config: LoadedConfig, logger: Logger, opts: Omit<BuildOptions, 'logger'> = {}): Promise<Running> {
  try {
    return await start(config, logger, opts)
  } catch (err) {
    if (!(err instanceof StoreOpenError)) throw err
    logger.fatal(err.message)
    logger.flush()
    process.stderr.write(`regguard: ${err.message}\n`)
    process.exit(2)
  }
}

/** Drains and exits: 0 once stopped, 1 if stopping failed. */
export function stopAndExit (running: Running, logger: Logger, signal: string): void {
  logger.info({ signal }, 'signal received')
  running.shutdown().then(() => { logger.flush(); process.exit(0) }, (err) => {
    logger.error({ err }, 'shutdown failed')
    process.exit(1)
  })
}

/**
 * The `regguard serve` command: runs until SIGTERM/SIGINT. With server.workers > 1 this process
 * becomes the cluster's primary, and each worker it forks runs this command again.
 */
export async function serve (file: string | null): Promise<void> {
  const config = configOrExit(file)
  // loaded only for a cluster: one process needs none of it
  if (cluster.isWorker) { await (await import('./cluster/worker.js')).serveWorker(config, { startOrExit, stopAndExit }); return }
  if (config.settings.server.workers > 1) { await (await import('./cluster/primary.js')).runPrimary(config); return }
  const logger = createLogger(config.settings.log.level)
  const running = await startOrExit(config, logger)
  process.once('SIGTERM', () => { stopAndExit(running, logger, 'SIGTERM') })
  process.once('SIGINT', () => { stopAndExit(running, logger, 'SIGINT') })
  process.on('SIGHUP', () => { running.reload() })
}
