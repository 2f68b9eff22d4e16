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

const bare = (n: string): string => n.replace(/\.$/, '').toLowerCase()
const sameName = (a: string, b: string): boolean => bare(a) === bare(b)

/**
 * Links of a CNAME chain followed inside one answer. Resolvers stop between 8 and 16 (BIND's
 * and Unbound's limits); a longer chain is answered as a failure, as they answer it SERVFAIL.
 */
export const MAX_CNAME_LINKS = 16
/**
 * Records of an answer (or authority) section looked at. Beyond it the answer is a failure
 * rather than read in part: a mail server listed past the cap could be the one a blacklist
 * names. Answers for a mail domain hold a handful of records.
 */
export const MAX_ANSWER_RECORDS = 256

/**
 * Reads the records of `type` for `name`, following CNAMEs inside the answer: one pass indexes
 * the records by owner name, the walk then visits each name of the chain once. A hostile answer
 * (truncated UDP, then 64 KiB of CNAMEs over TCP) costs one pass over its records, not a
 * search of the chain for every record on every round.
 */
export function readAnswer (res: Decoded, name: string, type: QueryType): QueryResult {
  const rcode = res.rcode ?? 'NOERROR'
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { ok: false, why: rcode }
  const answers = res.answers ?? []
  if (answers.length > MAX_ANSWER_RECORDS) return { ok: false, why: `answer of more than ${MAX_ANSWER_RECORDS} records` }
  const byOwner = new Map<string, packet.Answer[]>()
  for (const a of answers) {
    if (a.type !== 'CNAME' && a.type !== type) continue
    const owner = bare(a.name)
    const list = byOwner.get(owner)
    if (list === undefined) byOwner.set(owner, [a])
    else list.push(a)
  }
  // every CNAME of a name in the chain is followed (a name with two CNAMEs is not valid DNS,
  // but both targets' records count, as a blacklist would want)
  const chain = [bare(name)]
  const seen = new Set(chain)
  let ttl: number | null = null
  for (let i = 0; i < chain.length; i++) {
    for (const a of byOwner.get(chain[i] as string) ?? []) {
      if (a.type !== 'CNAME') continue
      const target = bare(a.data as string)
      if (seen.has(target)) continue
      if (chain.length > MAX_CNAME_LINKS) return { ok: false, why: `CNAME chain of more than ${MAX_CNAME_LINKS} links` }
      seen.add(target)
      chain.push(target)
      ttl = Math.min(ttl ?? Infinity, a.ttl ?? 0)
    }
  }
  const records: DnsRecord[] = []
  for (const owner of chain) {
    for (const a of byOwner.get(owner) ?? []) {
      if (a.type !== type) continue
      records.push({ ttl: a.ttl ?? 0, data: a.data })
      ttl = Math.min(ttl ?? Infinity, a.ttl ?? 0)
    }
  }
  if (records.length === 0) {
    // RFC 2308: a negative answer is kept for the SOA's TTL, at most its minimum field
    const soa = (res.authorities ?? []).find((a) => a.type === 'SOA')
    ttl = soa !== undefined ? Math.min(soa.ttl ?? 0, (soa.data as { minimum?: number }).minimum ?? 0) : null
  }
  return { ok: true, rcode: rcode === 'NXDOMAIN' && records.length === 0 ? 'NXDOMAIN' : 'NOERROR', records, ttl }
}

interface Question { id: number, name: string, type: QueryType, bytes: Buffer }

function question (name: string, type: QueryType): Question {
  const id = randomInt(0, 65536)
  return { id, name, type, bytes: packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    // EDNS0, 1232 bytes (the DNS flag day's size): big MX sets fit without falling back to TCP
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as packet.Answer]
  }) }
}

/**
 * Does this message answer our question (same id, same question)? Anything else is null, to be
 * ignored. The header's counts are read before the message is decoded: an answer of more
 * records than MAX_ANSWER_RECORDS is a failure (its text) without decoding any of them, and the
 * additional section, never read, is not decoded either.
 */
function answers (sent: Question, bytes: Buffer): Decoded | string | null {
  if (bytes.length < 12 || bytes.readUInt16BE(0) !== sent.id) return null
  if (bytes.readUInt16BE(6) > MAX_ANSWER_RECORDS || bytes.readUInt16BE(8) > MAX_ANSWER_RECORDS) return `answer of more than ${MAX_ANSWER_RECORDS} records`
  const message = Buffer.from(bytes)
  message.writeUInt16BE(0, 10)
  let res: Decoded
  try { res = packet.decode(message) as Decoded } catch { return null }
  const rq = res.questions?.[0]
  if (res.type !== 'response' || rq === undefined) return null
  return rq.type === sent.type && sameName(rq.name, sent.name) ? res : null
}

function overUdp (server: DnsServer, q: Question, timeoutMs: number): Promise<Decoded | string> {
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
    socket.send(q.bytes, server.port, server.host)
  })
}

function overTcp (server: DnsServer, q: Question, timeoutMs: number): Promise<Decoded | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port })
    // chunks kept as they come and joined once: a server sending its answer a byte at a time
    // must not cost a copy of everything so far per byte
    const chunks: Buffer[] = []
    let have = 0
    let need = -1
    const done = (r: Decoded | string): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done('timeout'), timeoutMs)
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
    socket.on('connect', () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(q.bytes.length)
      socket.write(Buffer.concat([len, q.bytes]))
    })
    socket.on('data', (d: Buffer) => {
      chunks.push(d)
      have += d.length
      if (need === -1 && have >= 2) need = 2 + (chunks.length === 1 ? d : Buffer.concat(chunks)).readUInt16BE(0)
      if (need === -1 || have < need) return
      // the two-byte length bounds the message: more than it is never read
      done(answers(q, Buffer.concat(chunks, have).subarray(2, need)) ?? 'malformed answer')
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
