import { randomInt } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { isIP, connect } from 'node:net'
import * as packet from 'dns-packet'
import type { DnsServer } from './servers.js'

// A stub resolver for the few questions the mail-server checks ask (MX, A, AAAA), over UDP with
// TCP when the answer is truncated. node:dns is not used: its resolveMx gives no TTLs, and its
// retries (timeout doubled per try) make the time a lookup may take hard to bound.

export type QueryType = 'MX' | 'A' | 'AAAA'

export interface DnsRecord { ttl: number, data: unknown }

export type QueryResult =
  /** NOERROR (records may be empty: no data) or NXDOMAIN; ttl: how long the answer may be kept */
  | { ok: true, rcode: 'NOERROR' | 'NXDOMAIN', records: DnsRecord[], ttl: number | null }
  | { ok: false, why: string }

type Decoded = packet.DecodedPacket & { rcode?: string }

const sameName = (a: string, b: string): boolean => a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase()

/** Reads the records of `type` for `name`, following CNAMEs inside the answer. */
export function readAnswer (res: Decoded, name: string, type: QueryType): QueryResult {
  const rcode = res.rcode ?? 'NOERROR'
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { ok: false, why: rcode }
  const chain = [name]
  let ttl: number | null = null
  const answers = res.answers ?? []
  // a CNAME may point to another CNAME; each step is in the same answer section
  for (let grew = true; grew;) {
    grew = false
    for (const a of answers) {
      if (a.type === 'CNAME' && chain.some((n) => sameName(n, a.name)) && !chain.some((n) => sameName(n, a.data as string))) {
        chain.push(a.data as string)
        ttl = Math.min(ttl ?? Infinity, a.ttl ?? 0)
        grew = true
      }
    }
  }
  const records: DnsRecord[] = []
  for (const a of answers) {
    if (a.type !== type || !chain.some((n) => sameName(n, a.name))) continue
    records.push({ ttl: a.ttl ?? 0, data: a.data })
    ttl = Math.min(ttl ?? Infinity, a.ttl ?? 0)
  }
  if (records.length === 0) {
    // RFC 2308: a negative answer is kept for the SOA's TTL, at most its minimum field
    const soa = (res.authorities ?? []).find((a) => a.type === 'SOA')
    ttl = soa !== undefined ? Math.min(soa.ttl ?? 0, (soa.data as { minimum?: number }).minimum ?? 0) : null
  }
  return { ok: true, rcode: rcode === 'NXDOMAIN' && records.length === 0 ? 'NXDOMAIN' : 'NOERROR', records, ttl }
}

function question (name: string, type: QueryType): Buffer {
  return packet.encode({
    type: 'query',
    id: randomInt(0, 65536),
    flags: packet.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    // EDNS0, 1232 bytes (the DNS flag day's size): big MX sets fit without falling back to TCP
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as packet.Answer]
  })
}

/** Does this message answer our question (same id, same question)? Anything else is ignored. */
function answers (q: Buffer, bytes: Buffer): Decoded | null {
  let res: Decoded
  try { res = packet.decode(bytes) as Decoded } catch { return null }
  const sent = packet.decode(q)
  const qq = sent.questions?.[0]
  const rq = res.questions?.[0]
  if (res.type !== 'response' || res.id !== sent.id || qq === undefined || rq === undefined) return null
  return rq.type === qq.type && sameName(rq.name, qq.name) ? res : null
}

function overUdp (server: DnsServer, q: Buffer, timeoutMs: number): Promise<Decoded | string> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4')
    const done = (r: Decoded | string): void => {
      clearTimeout(timer)
      socket.close()
      resolve(r)
    }
    const timer = setTimeout(() => done('timeout'), timeoutMs)
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== server.port) return
      const res = answers(q, msg)
      if (res !== null) done(res)
    })
    socket.send(q, server.port, server.host)
  })
}

function overTcp (server: DnsServer, q: Buffer, timeoutMs: number): Promise<Decoded | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port })
    let buf = Buffer.alloc(0)
    const done = (r: Decoded | string): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done('timeout'), timeoutMs)
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
    socket.on('connect', () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(q.length)
      socket.write(Buffer.concat([len, q]))
    })
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (buf.length < 2) return
      const n = buf.readUInt16BE(0)
      if (buf.length < 2 + n) return
      done(answers(q, buf.subarray(2, 2 + n)) ?? 'malformed answer')
    })
    socket.on('end', () => done('connection closed'))
  })
}

/**
 * Asks the servers in turn, within `deadline` (a Date.now() value) in all: each gets an equal
 * share of the time left. A server failing (SERVFAIL, REFUSED, timeout) passes to the next.
 */
export async function query (servers: DnsServer[], name: string, type: QueryType, deadline: number): Promise<QueryResult> {
  if (servers.length === 0) return { ok: false, why: 'no DNS servers' }
  const q = question(name, type)
  const failures: string[] = []
  for (let i = 0; i < servers.length; i++) {
    const server = servers[i] as DnsServer
    const left = deadline - Date.now()
    if (left <= 0) break
    const share = Math.max(1, Math.floor(left / (servers.length - i)))
    let res = await overUdp(server, q, share)
    if (typeof res !== 'string' && res.flag_tc) res = await overTcp(server, q, Math.max(1, deadline - Date.now()))
    const where = isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`
    if (typeof res === 'string') { failures.push(`${res} from ${where}`); continue }
    const read = readAnswer(res, name, type)
    if (read.ok) return read
    failures.push(`${read.why} from ${where}`)
  }
  return { ok: false, why: failures.length > 0 ? failures.join(', ') : 'timeout' }
}
