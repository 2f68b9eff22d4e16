import { createServer, type Server, type Socket as TcpSocket } from 'node:net'
import { bindPair } from '../helpers/dns-server.js'

// A name server on loopback that answers as an attacker's would, for any name under its zones
// (so every request can name a subdomain of its own, and no cache helps):
//   <anything>.chain.evil  UDP: truncated; TCP: a CNAME chain filling a 64 KiB message, its links
//                          in reverse order (the order that made the old reader cubic)
//   <anything>.mid.evil    UDP: truncated; TCP: a chain of MID_CHAIN_LINKS links, few enough
//                          records to pass a cap on records, many for a reader that searches
//   <anything>.long.evil   UDP: a chain a few links longer than resolvers follow
//   <anything>.huge.evil   UDP: truncated; TCP: a 64 KiB answer of thousands of MX records
//   <anything>.slow.evil   UDP: truncated; TCP: the chain, one byte every `slowByteMs`
// Messages are written by hand with name compression (dns-packet never compresses), which is
// how a chain of thousands of links fits in one TCP message. Building one costs a pass over its
// bytes, so the server barely takes time from the process it shares with the code under test.

export interface HostileDns {
  /** "127.0.0.1:PORT", for dns.servers */
  address: string
  port: number
  queries: Array<{ name: string, type: number, tcp: boolean }>
  /** Links in the last chain answered over TCP */
  chainLinks: number
  /** TCP connections open now, and the most there were at once */
  openTcp: () => number
  maxOpenTcp: () => number
  close: () => Promise<void>
}

const MAX_MESSAGE = 65535
export const LONG_CHAIN_LINKS = 24
export const MID_CHAIN_LINKS = 200
const TTL = 300

interface Question { id: number, labels: string[], qtype: number, end: number }

function readQuestion (msg: Buffer): Question | null {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return null
  const labels: string[] = []
  let at = 12
  for (;;) {
    const len = msg[at]
    if (len === undefined || (len & 0xc0) !== 0) return null
    at++
    if (len === 0) break
    labels.push(msg.toString('latin1', at, at + len).toLowerCase())
    at += len
  }
  if (at + 4 > msg.length) return null
  return { id: msg.readUInt16BE(0), labels, qtype: msg.readUInt16BE(at), end: at + 4 }
}

/** Writes into a growing message; names are a label and a pointer to an earlier name. */
class Message {
  private readonly buf = Buffer.alloc(MAX_MESSAGE)
  length = 0
  u8 (v: number): void { this.buf.writeUInt8(v, this.length); this.length += 1 }
  u16 (v: number): void { this.buf.writeUInt16BE(v, this.length); this.length += 2 }
  u32 (v: number): void { this.buf.writeUInt32BE(v, this.length); this.length += 4 }
  bytes (b: Buffer): void { b.copy(this.buf, this.length); this.length += b.length }
  pointer (offset: number): void { this.u16(0xc000 | offset) }
  /** label + pointer to `suffix`; returns where the name starts */
  name (label: string, suffix: number): number {
    const at = this.length
    this.u8(label.length)
    this.bytes(Buffer.from(label, 'latin1'))
    this.pointer(suffix)
    return at
  }

  recordHead (owner: () => void, type: number): number {
    owner()
    this.u16(type)
    this.u16(1)
    this.u32(TTL)
    const rdlength = this.length
    this.u16(0)
    return rdlength
  }

  endRecord (rdlength: number): void { this.buf.writeUInt16BE(this.length - rdlength - 2, rdlength) }
  set16 (offset: number, v: number): void { this.buf.writeUInt16BE(v, offset) }
  done (): Buffer { return Buffer.from(this.buf.subarray(0, this.length)) }
}

const RECORD_ROOM = 32

/** Header and question copied from the query; returns the message and the zone suffix's offset. */
function start (msg: Buffer, q: Question, flags: number, zoneLabels: number): { m: Message, zone: number } {
  const m = new Message()
  m.u16(q.id)
  m.u16(0x8000 | 0x0100 | 0x0080 | flags)
  m.u16(1); m.u16(0); m.u16(0); m.u16(0)
  m.bytes(msg.subarray(12, q.end))
  let zone = 12
  for (const l of q.labels.slice(0, q.labels.length - zoneLabels)) zone += l.length + 1
  return { m, zone }
}

/**
 * A chain of CNAMEs from the question's name, written last link first. A compression pointer
 * reaches only the first 16 KiB of a message, so each name is its own label and a pointer to the
 * zone's name in the question: 24 bytes a link.
 */
function chain (msg: Buffer, q: Question, maxLinks: number): { bytes: Buffer, links: number } {
  const { m, zone } = start(msg, q, 0, 2)
  const links = Math.min(maxLinks, Math.floor((MAX_MESSAGE - m.length - RECORD_ROOM) / 24))
  const target = (i: number): string => `a${i.toString(36)}`
  for (let k = links - 1; k >= 0; k--) {
    const rd = m.recordHead(() => {
      if (k === 0) m.pointer(12)
      else m.name(target(k - 1), zone)
    }, 5)
    m.name(target(k), zone)
    m.endRecord(rd)
  }
  const out = m.done()
  out.writeUInt16BE(links, 6)
  return { bytes: out, links }
}

/** As many MX records for the question's name as fit. */
function hugeMx (msg: Buffer, q: Question): Buffer {
  const { m, zone } = start(msg, q, 0, 2)
  let n = 0
  while (m.length + RECORD_ROOM < MAX_MESSAGE) {
    const rd = m.recordHead(() => m.pointer(12), 15)
    m.u16(10)
    m.name(`mx${n.toString(36)}`, zone)
    m.endRecord(rd)
    n++
  }
  const out = m.done()
  out.writeUInt16BE(n, 6)
  return out
}

function truncated (msg: Buffer, q: Question): Buffer {
  return start(msg, q, 0x0200, 2).m.done()
}

export async function startHostileDns (t: { teardown: (fn: () => unknown) => void }, opts: { slowByteMs?: number } = {}): Promise<HostileDns> {
  const queries: HostileDns['queries'] = []
  let chainLinks = 0
  let open = 0
  let maxOpen = 0
  const sockets = new Set<TcpSocket>()
  const timers = new Set<NodeJS.Timeout>()
  const zoneOf = (q: Question): string => q.labels.slice(-2).join('.')

  const udpAnswer = (msg: Buffer): Buffer | null => {
    const q = readQuestion(msg)
    if (q === null) return null
    queries.push({ name: q.labels.join('.'), type: q.qtype, tcp: false })
    if (zoneOf(q) === 'long.evil') return chain(msg, q, LONG_CHAIN_LINKS).bytes
    return truncated(msg, q)
  }

  const tcpAnswer = (socket: TcpSocket, msg: Buffer): void => {
    const q = readQuestion(msg)
    if (q === null) { socket.destroy(); return }
    queries.push({ name: q.labels.join('.'), type: q.qtype, tcp: true })
    const zone = zoneOf(q)
    let body: Buffer
    if (zone === 'huge.evil') body = hugeMx(msg, q)
    else ({ bytes: body, links: chainLinks } = chain(msg, q, zone === 'mid.evil' ? MID_CHAIN_LINKS : Infinity))
    const framed = Buffer.alloc(2 + body.length)
    framed.writeUInt16BE(body.length)
    body.copy(framed, 2)
    if (zone !== 'slow.evil') { socket.write(framed); return }
    let at = 0
    const drip = setInterval(() => {
      if (socket.destroyed || at >= framed.length) { clearInterval(drip); timers.delete(drip); return }
      socket.write(framed.subarray(at, at + 1))
      at++
    }, opts.slowByteMs ?? 20)
    timers.add(drip)
  }

  const tcp: Server = createServer((socket) => {
    sockets.add(socket)
    open++
    maxOpen = Math.max(maxOpen, open)
    socket.on('close', () => { sockets.delete(socket); open-- })
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => {
      chunks.push(d)
      const buf = Buffer.concat(chunks)
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return
      chunks.length = 0
      tcpAnswer(socket, buf.subarray(2, 2 + buf.readUInt16BE(0)))
    })
    socket.on('error', () => {})
  })

  // UDP and TCP on one port number, as test/helpers/dns-server.ts pairs them
  const { udp: bound, port } = await bindPair(tcp, udpAnswer)
  const s: HostileDns = {
    address: `127.0.0.1:${port}`,
    port,
    queries,
    get chainLinks () { return chainLinks },
    openTcp: () => open,
    maxOpenTcp: () => maxOpen,
    close: async () => {
      for (const timer of timers) clearInterval(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => bound.close(() => resolve()))
      await new Promise<void>((resolve) => tcp.close(() => resolve()))
    }
  }
  t.teardown(() => s.close())
  return s
}
