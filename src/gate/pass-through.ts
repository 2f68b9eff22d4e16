import { METHODS } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import httpProxy from '@fastify/http-proxy'
import type { Dispatcher } from 'undici'
import type { AppContext } from '../context.js'
import { abortWithClient, onBehalfOf } from '../homeserver/abort-with-client.js'
import { failureOf, FAILURE_ERROR } from '../homeserver/forward.js'
import { clientResponseHeaders } from '../homeserver/headers.js'
import { redactTarget } from '../log.js'
import type { Metrics } from '../metrics.js'
import { clientKey } from '../ratelimit/client-key.js'
import { replyRawError, sendError } from '../reply.js'
import { hasBody } from './body.js'
import type { GateRequest } from './request.js'
import { rawPath } from './routes.js'
import { unforwardableTarget } from './target-guard.js'
import { forwardAsReceived, logRefusal, refuseConcurrency, upstreamHeadersFor } from './upstream.js'

// Everything regguard does not police: streamed to the homeserver and back untouched, through
// @fastify/http-proxy (@fastify/reply-from) on the pass-through pool. The gate's hook
// (passThroughGate) runs first: it refuses a target the proxy stack would change
// (target-guard.ts) and holds the client's place under server.per_client_concurrency.

/**
 * The onRequest step of a pass-through request: refused here, answered by the exact forwarder,
 * or handed on (`done`) to the proxy route.
 */
export function passThroughGate (request: GateRequest, reply: FastifyReply, ctx: AppContext, done: HookHandlerDoneFunction): void {
  const req = request.raw
  const res = reply.raw
  const why = unforwardableTarget(request.target)
  if (why !== null) {
    reply.hijack()
    if (request.target.startsWith('/')) {
      request.log.info({ reason: why, method: req.method, target: redactTarget(request.target), client_ip: request.ip }, 'request refused: its target would not reach the homeserver as received')
    }
    sendError(res, 'UNRECOGNIZED')
    return
  }
  // two Host headers: Node keeps the first, undici refuses them, nginx answers 400; no proxy may
  // choose one for the homeserver
  if (hostHeaders(req.rawHeaders) > 1) {
    reply.hijack()
    logRefusal(request, 'duplicate host header')
    sendError(res, 'NOT_FORWARDABLE')
    return
  }
  // fastify hands no body of a GET or HEAD to a route, so reply-from could not forward it: such a
  // request goes the way the policed routes go, its bytes as received
  if ((req.method === 'GET' || req.method === 'HEAD') && hasBody(req)) {
    reply.hijack()
    forwardAsReceived(ctx, request, res, req, undefined, true).catch((err: unknown) => {
      request.log.error({ err }, 'request failed')
      if (res.headersSent) res.destroy()
      else sendError(res, 'INTERNAL')
    })
    return
  }
  const { settings } = ctx.runtime().config
  const cap = settings.server.per_client_concurrency
  if (cap > 0) {
    // computed once: a reload changing ipv6_prefix must not leave a count behind under another key
    const key = clientKey(request.ip, settings.register.rate_limit.ipv6_prefix)
    const inFlight = ctx.inFlight.passThrough
    if (!inFlight.enter(key, cap)) {
      reply.hijack()
      refuseConcurrency(ctx, request, res)
      return
    }
    res.once('close', () => { inFlight.leave(key) })
  }
  done()
}

function hostHeaders (raw: string[]): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 4 && name.toLowerCase() === 'host') n++
  }
  return n
}

/** Request headers for the homeserver in the object form reply-from sends: as received, case and repeats kept. */
function headersObject (flat: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string
    const value = flat[i + 1] as string
    const had = out[name]
    if (had === undefined) out[name] = value
    else if (Array.isArray(had)) had.push(value)
    else out[name] = [had, value]
  }
  return out
}

/** Response headers for the client: hop-by-hop removed (reply-from copies `connection` and `keep-alive`). */
function responseHeaders (headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const flat: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) flat.push(name, v)
  }
  return headersObject(clientResponseHeaders(flat))
}

function gateOf (request: FastifyRequest): { gate: GateRequest, ctx: AppContext } {
  const gate = request.gate
  const ctx = request.gateContext
  // the gate's hook runs before every route: a request without it is a wiring fault
  if (gate === null || ctx === null) throw new Error('pass-through request without the gate hook')
  return { gate, ctx }
}

function onProxyError (metrics: Metrics) {
  return function proxyError (reply: FastifyReply, error: Error & { cause?: unknown }): void {
    // the client went away (abortWithClient): nobody to answer, and not the homeserver's failure
    if (reply.raw.destroyed) return
    const cause = (error.cause instanceof Error ? error.cause : error) as Error & { code?: string }
    // reply-from's own timeout and undici's both mean the homeserver did not answer in time
    const failure = error.name === 'GatewayTimeoutError' || (error as { code?: string }).code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT' ? 'timeout' : failureOf(cause)
    if (failure === 'refused') {
      const { gate } = gateOf(reply.request)
      logRefusal(gate, cause.message)
    } else {
      metrics.upstreamErrors.inc({ kind: failure })
    }
    replyRawError(reply, FAILURE_ERROR[failure])
  }
}

/** Every method node parses, so that whatever Synapse might serve is forwarded, as before. */
function allMethods (app: FastifyInstance): string[] {
  for (const m of METHODS) {
    // CONNECT never reaches a request handler (node emits 'connect'); the rest may carry a body
    if (m === 'CONNECT' || app.supportedMethods.includes(m)) continue
    app.addHttpMethod(m, { hasBody: true })
  }
  return METHODS.filter((m) => m !== 'CONNECT')
}

/** The pass-through route: one catch-all of @fastify/http-proxy on the pass-through pool. */
export function passThroughRoute (app: FastifyInstance, upstream: string, pool: Dispatcher, metrics: Metrics): void {
  const proxyError = onProxyError(metrics)
  void app.register(httpProxy, {
    upstream,
    // a client gone before its answer came aborts the homeserver's request
    undici: pool.compose(abortWithClient) as never,
    routes: ['/*'],
    httpMethods: allMethods(app),
    // the homeserver's Location headers are its own business: forwarded unchanged
    internalRewriteLocationHeader: false,
    disableRequestLogging: true,
    // the raw path (already proved unchanged by URL parsing) and, by reply-from, the raw query:
    // http-proxy's own rebuilt query would re-encode it
    handler (request, reply, _dest, options) {
      const started = performance.now()
      return onBehalfOf(reply.raw, () => reply.from(rawPath(request.raw.url ?? '/'), {
        ...options,
        onResponse (_req, rep, res) {
          metrics.upstreamSeconds.observe((performance.now() - started) / 1000)
          void rep.send(res.stream)
        }
      }))
    },
    replyOptions: {
      rewriteRequestHeaders (request) {
        const { gate, ctx } = gateOf(request as unknown as FastifyRequest)
        return headersObject(upstreamHeadersFor(ctx, gate))
      },
      rewriteHeaders: (headers) => responseHeaders(headers as Record<string, string | string[] | undefined>),
      // a request is sent once, as the client sent it: retrying is the client's decision
      retryDelay: () => null,
      onError: (reply, { error }) => { proxyError(reply as unknown as FastifyReply, error) }
    }
  })
}
