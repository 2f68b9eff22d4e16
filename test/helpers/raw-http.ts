import { connect } from 'node:net'

// Speaks HTTP/1.1 by hand, so a test controls every byte of the request line and headers
// (no client library normalises the path or fixes up framing).

export interface RawResponse {
  status: number
  head: string
  headers: Record<string, string>
  body: string
}

export function parseRawResponse (text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n')
  const head = end === -1 ? text : text.slice(0, end)
  const lines = head.split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim()
  }
  let body = end === -1 ? '' : text.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') {
    let out = ''
    let rest = body
    for (;;) {
      const nl = rest.indexOf('\r\n')
      if (nl === -1) break
      const size = parseInt(rest.slice(0, nl), 16)
      if (!(size > 0)) break
      out += rest.slice(nl + 2, nl + 2 + size)
      rest = rest.slice(nl + 2 + size + 2)
    }
    body = out
  }
  return { status, head, headers, body }
}

/** Sends the bytes, reads until the server closes or `timeoutMs` passes. */
export function rawRequest (port: number, request: string | Buffer, timeoutMs = 3000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    socket.on('data', (c) => chunks.push(c))
    socket.on('error', (err) => { clearTimeout(timer); if (chunks.length === 0) reject(err); else resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1'))) })
    socket.on('close', () => { clearTimeout(timer); resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1'))) })
    socket.write(request)
  })
}

/** A request with Connection: close so the response ends with the connection. */
export function rawPost (port: number, target: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  const lines = [`POST ${target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', `Content-Length: ${b.length}`]
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  return rawRequest(port, Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), b]))
}
