import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import type { Logger } from '../log.js'
import type { Runtime } from '../runtime.js'

// What a gate handler knows of the request besides its bytes: who sent it and where its log
// lines go. Both are worked out only when asked for: a flood of denials that log nothing never
// builds a child logger, and a request answered before its client address matters never walks
// X-Forwarded-For.

let lastId = 0

export class GateRequest {
  readonly raw: IncomingMessage
  /** The request target exactly as the client sent it: never decoded or normalised */
  readonly target: string
  readonly #runtime: Runtime
  readonly #logger: Logger
  readonly #id: number
  #ip: string | undefined
  #log: Logger | undefined

  constructor (raw: IncomingMessage, runtime: Runtime, logger: Logger) {
    this.raw = raw
    this.target = raw.url ?? '/'
    this.#runtime = runtime
    this.#logger = logger
    // as fastify numbered them (req-1, req-2, ... in base 36), so log lines read as before
    this.#id = lastId = (lastId + 1) & 0x7fffffff
  }

  /**
   * The client's address: the peer, or with server.trusted_proxies the first address in
   * X-Forwarded-For (read from the right) that is not a trusted proxy. '' once the connection
   * is gone and it was never asked for.
   */
  get ip (): string {
    if (this.#ip === undefined) {
      if (this.raw.socket === null) return ''
      this.#ip = proxyAddr(this.raw, this.#runtime.trust)
    }
    return this.#ip
  }

  /** Would a line at `level` be written? Asked of the base logger: no child is made for it */
  logs (level: string): boolean {
    return this.#logger.isLevelEnabled(level)
  }

  get log (): Logger {
    this.#log ??= this.#logger.child({ reqId: `req-${this.#id.toString(36)}` })
    return this.#log
  }
}
