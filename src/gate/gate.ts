import type { ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { AppContext } from '../context.js'
import { redactTarget, type Logger } from '../log.js'
import { sendError } from '../reply.js'
import { hasBody } from './body.js'
import { watchBodyIdle } from './body-idle.js'
import { guardedHandler } from './guarded.js'
import { learnInvitesHandler } from './learn-invites.js'
import { passThroughGate } from './pass-through.js'
import { registerHandler, type RegisterDeps } from './register.js'
import { GateRequest } from './request.js'
import { requestTokenHandler } from './request-token.js'
import { classify, type Route } from './routes.js'
import { availableHandler } from './user-rules.js'

// The gate's dispatch, run as the gate listener's onRequest hook: every request is classified on
// its raw target by the route table (routes.ts). A policed route is taken from fastify
// (hijacked) and handed, with the route and the request's configuration snapshot, to its handler,
// which answers on the raw response and forwards exactly the bytes it judged. Everything else
// goes on to the pass-through route (@fastify/http-proxy, pass-through.ts).

type Handler<R extends Route> = (request: GateRequest, res: ServerResponse, route: R, ctx: AppContext) => Promise<void>
type Handlers = { [K in Exclude<Route['kind'], 'forward'>]: Handler<Extract<Route, { kind: K }>> }

export interface GateOptions {
  logger: Logger
  /** log.requests at start-up: a line per request once its answer is finished */
  logRequests: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The gate's view of the request, set by the onRequest hook (null before it runs) */
    gate: GateRequest | null
    /** The configuration snapshot this request runs under */
    gateContext: AppContext | null
  }
}

export type GateHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void

export function gateDispatch (ctx: AppContext, deps: RegisterDeps, opts: GateOptions): GateHook {
  const handlers: Handlers = {
    requestToken: requestTokenHandler(),
    register: registerHandler(deps),
    available: availableHandler(),
    invite: learnInvitesHandler(ctx),
    guarded: guardedHandler(deps)
  }
  const { metrics } = ctx
  return function dispatch (fRequest, reply, done) {
    const req = fRequest.raw
    const res = reply.raw
    // one configuration for the whole request: a reload (SIGHUP) while it runs applies to the
    // next one, never to the rest of this one
    const snapshot = ctx.runtime()
    const request = new GateRequest(req, snapshot, opts.logger)
    if (opts.logRequests) logWhenFinished(request, res)
    // every route: a body that stops arriving is answered 408 (server.body_timeout_ms)
    if (hasBody(req)) {
      watchBodyIdle(req, res, snapshot.config.settings.server.body_timeout_ms, {
        onIdle (answered) {
          metrics.clientTimeouts.inc({ phase: 'body' })
          request.log.info({ method: req.method, target: redactTarget(request.target), client_ip: request.ip, answered }, 'request body idle: cut')
        }
      })
    }
    const route = classify(req.method ?? 'GET', request.target)
    const requestCtx: AppContext = { ...ctx, runtime: () => snapshot }
    if (route.kind === 'forward') {
      fRequest.gate = request
      fRequest.gateContext = requestCtx
      passThroughGate(request, reply, requestCtx, done)
      return
    }
    reply.hijack()
    ;(handlers[route.kind] as Handler<Route>)(request, res, route, requestCtx).catch((err: unknown) => {
      // a fault of regguard's: the client is told at once instead of waiting for its own timeout
      request.log.error({ err }, 'request failed')
      if (res.headersSent) res.destroy()
      else sendError(res, 'INTERNAL')
    })
  }
}

function logWhenFinished (request: GateRequest, res: ServerResponse): void {
  const started = process.hrtime.bigint()
  // read now: by 'finish' Node may have detached the socket the client address comes from
  const clientIp = request.ip
  res.once('finish', () => {
    request.log.info({
      method: request.raw.method,
      target: redactTarget(request.target),
      status: res.statusCode,
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      client_ip: clientIp
    }, 'request')
  })
}
