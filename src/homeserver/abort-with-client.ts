import { AsyncLocalStorage } from 'node:async_hooks'
import type { ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'

// reply-from keeps waiting for the homeserver's answer after the client has gone (it looks only
// once the answer's headers are in), so an abandoned long poll would hold a pass-through
// connection until the homeserver answers, and a shutdown would wait for it. This interceptor
// ties each request dispatched on behalf of a client response to that response: a response
// closed before it finished aborts the homeserver's request. The response is handed over through
// AsyncLocalStorage because reply-from dispatches from within the call that forwards.

const current = new AsyncLocalStorage<ServerResponse>()

/** Runs `fn` (which dispatches on a pool composed with abortWithClient) for `res`. */
export function onBehalfOf<T> (res: ServerResponse, fn: () => T): T {
  return current.run(res, fn)
}

type Abort = (err: Error) => void

function watch (res: ServerResponse, abort: Abort): void {
  const gone = (): boolean => !res.writableFinished
  if (res.closed) {
    if (gone()) abort(new Error('client went away'))
    return
  }
  res.once('close', () => { if (gone()) abort(new Error('client went away')) })
}

const METHODS = [
  'onConnect', 'onHeaders', 'onData', 'onComplete', 'onError', 'onUpgrade', 'onResponseStarted', 'onBodySent',
  'onRequestStart', 'onRequestUpgrade', 'onResponseStart', 'onResponseData', 'onResponseEnd', 'onResponseError'
] as const

/** The handler with its start hooked: works with undici's controller API and with the older one. */
function hooked (handler: Dispatcher.DispatchHandler, res: ServerResponse): Dispatcher.DispatchHandler {
  const h = handler as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const name of METHODS) {
    const fn = h[name]
    if (typeof fn === 'function') out[name] = (fn as (...a: unknown[]) => unknown).bind(handler)
  }
  const onRequestStart = out.onRequestStart as ((c: Dispatcher.DispatchController, ctx: unknown) => void) | undefined
  if (onRequestStart !== undefined) {
    out.onRequestStart = (controller: Dispatcher.DispatchController, ctx: unknown) => {
      watch(res, (err) => { controller.abort(err) })
      onRequestStart(controller, ctx)
    }
  }
  const onConnect = out.onConnect as ((abort: Abort, ctx: unknown) => void) | undefined
  if (onConnect !== undefined) {
    out.onConnect = (abort: Abort, ctx: unknown) => {
      watch(res, abort)
      onConnect(abort, ctx)
    }
  }
  return out as Dispatcher.DispatchHandler
}

/** An undici interceptor (Dispatcher.compose) aborting requests whose client went away. */
export function abortWithClient (dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] {
  return function dispatchWatched (opts, handler) {
    const res = current.getStore()
    return dispatch(opts, res === undefined ? handler : hooked(handler, res))
  }
}
