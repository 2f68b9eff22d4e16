import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendError } from '../reply.js'

/**
 * Runs a proxy handler and answers 500 M_UNKNOWN when it fails after taking the answer over
 * (reply.hijack()): fastify only logs such a failure ("Promise errored, but reply.sent = true")
 * and the client would wait until its own timeout. Failures before the hijack go to fastify's
 * error handler as before. Once an answer has started, the connection is closed instead.
 */
export async function answerFailures (handler: (request: FastifyRequest, reply: FastifyReply) => Promise<void>, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  try {
    await handler(request, reply)
  } catch (err) {
    if (!reply.sent) throw err
    request.log.error({ err }, 'request failed')
    if (reply.raw.headersSent) reply.raw.destroy()
    else sendError(reply.raw, 'INTERNAL')
  }
}
