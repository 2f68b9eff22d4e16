import { METHODS } from '../node-http.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { learnInvitesHandler } from './learn-invites.js'
import { passThroughHandler } from './pass-through.js'
import { registerHandler, type RegisterDeps } from './register.js'
import { requestTokenHandler } from './request-token.js'
import { classify, type Route } from './routes.js'
import { rawTarget } from './upstream.js'
import { availableHandler } from './user-rules.js'

// The gate listener's one fastify route. fastify's router would percent-decode and judge the
// path; classification must be on the raw target (routes.ts), so every request is rewritten to
// GATE_PATH and dispatched here by the route table's answer, with the route and the request's
// configuration snapshot handed to its handler.

export const GATE_PATH = '/'

type Handler<R extends Route> = (request: FastifyRequest, reply: FastifyReply, route: R, ctx: AppContext) => Promise<void>
type Handlers = { [K in Route['kind']]: Handler<Extract<Route, { kind: K }>> }
export type Wrap = (run: (request: FastifyRequest, reply: FastifyReply) => Promise<void>) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>

function allMethods (app: FastifyInstance): string[] {
  for (const m of METHODS) {
    if (m !== 'CONNECT' && !app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true })
  }
  return app.supportedMethods.filter((m) => m !== 'CONNECT')
}

/** Mounts the gate on `proxy`; `wrap` runs around every handler (the body idle watch). */
export function mountGate (proxy: FastifyInstance, ctx: AppContext, deps: RegisterDeps, wrap: Wrap): void {
  const handlers: Handlers = {
    requestToken: requestTokenHandler(),
    register: registerHandler(deps),
    available: availableHandler(),
    invite: learnInvitesHandler(ctx),
    forward: passThroughHandler()
  }
  const dispatch = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = classify(request.raw.method ?? 'GET', rawTarget(request))
    // one configuration for the whole request: a reload (SIGHUP) while it runs applies to the
    // next one, never to the rest of this one
    const snapshot = ctx.runtime()
    const requestCtx: AppContext = { ...ctx, runtime: () => snapshot }
    await (handlers[route.kind] as Handler<Route>)(request, reply, route, requestCtx)
  }
  proxy.route({ method: allMethods(proxy), url: GATE_PATH, handler: wrap(dispatch) })
}
