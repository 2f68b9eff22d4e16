import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { matrixError, type MatrixErrorName } from './errors.js'

// The one writer of error bodies: every Matrix error regguard answers, on either listener and
// whether the answer goes through fastify, a raw response or a bare socket, is rendered here from
// an entry of the table in errors.ts.

/** The status and JSON text of a table entry (optionally reworded or with extra fields). */
export function renderError (name: MatrixErrorName, message?: string | null, extra?: Record<string, unknown>): { status: number, text: string } {
  const e = matrixError(name, message, extra)
  return { status: e.status, text: JSON.stringify(e.body) }
}

// The plain answers (no extra fields) rendered once each: a flood of denials is answered from
// here. Messages come from the table or the config, so the map stays small; a reload's new
// wording is a new key.
const rendered = new Map<string, { status: number, text: string, length: number }>()
const RENDERED_MAX = 1024

let lastPlain: { name: MatrixErrorName, message: string | null | undefined, answer: { status: number, text: string, length: number } } | null = null

function plainAnswer (name: MatrixErrorName, message: string | null | undefined): { status: number, text: string, length: number } {
  if (lastPlain !== null && lastPlain.name === name && lastPlain.message === message) return lastPlain.answer
  const key = `${name}\0${message ?? '\u0001'}`
  let r = rendered.get(key)
  if (r === undefined) {
    const { status, text } = renderError(name, message)
    r = { status, text, length: Buffer.byteLength(text) }
    if (rendered.size >= RENDERED_MAX) rendered.clear()
    rendered.set(key, r)
  }
  lastPlain = { name, message, answer: r }
  return r
}

/** On a raw response (the gate's hijacked replies). */
export function sendError (res: ServerResponse, name: MatrixErrorName, message?: string | null, extra?: Record<string, unknown>, headers?: Record<string, string>): void {
  if (extra === undefined && headers === undefined) {
    const { status, text, length } = plainAnswer(name, message)
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': length })
    res.end(text)
    return
  }
  const { status, text } = renderError(name, message, extra)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** Through fastify (the admin listener, the error and not-found handlers). */
export function replyError (reply: FastifyReply, name: MatrixErrorName, message?: string | null, status?: number): FastifyReply {
  const e = renderError(name, message)
  return reply.code(status ?? e.status).type('application/json').send(e.text)
}

/**
 * Through fastify on the gate: taken from fastify and written raw, so that every gate answer has
 * the same bytes whichever path produced it.
 */
export function replyRawError (reply: FastifyReply, name: MatrixErrorName): void {
  reply.hijack()
  sendError(reply.raw, name)
}

/** On a bare socket, when no request could be parsed (malformed HTTP, headers too slow): then closed. */
export function socketError (socket: Duplex, name: MatrixErrorName): void {
  const { status, text } = renderError(name)
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`)
}

/** Answers with Connection: close and closes the connection once the answer is written. */
export function sendErrorAndClose (req: IncomingMessage, res: ServerResponse, name: MatrixErrorName): void {
  res.once('finish', () => req.socket.destroy())
  sendError(res, name, null, undefined, { Connection: 'close' })
}

/**
 * Answers 413 and closes the connection: the rest of the body was never read, so the
 * connection cannot carry another request.
 */
export function sendTooLarge (req: IncomingMessage, res: ServerResponse): void {
  sendErrorAndClose(req, res, 'TOO_LARGE')
}
