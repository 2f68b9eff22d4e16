import { createSocket, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import * as packet from 'dns-packet'

// A DNS server on loopback, answering from a table the test fills and changes: MX, A and AAAA
// records with TTLs, null MX, NXDOMAIN, SERVFAIL, silence (a timeout), and truncated UDP answers
// (the full answer over TCP on the same port). Every question it received is recorded.

export interface ZoneEntry {
  MX?: Array<{ preference: number, exchange: string }>
  A?: string[]
  AAAA?: string[]
  /** CNAME: the answer carries the CNAME and the target's records (looked up in the table) */
  CNAME?: string
  ttl?: number
  /** every question for this name: no answer at all, or this error */
  fail?: 'timeout' | 'SERVFAIL' | 'REFUSED'
  /** UDP answers carry only the TC flag; TCP gives the records */
  truncate?: boolean
}

export interface DnsServer {
  /** "127.0.0.1:PORT", for dns.servers */
  address: string
  port: number
  zone: Map<string, ZoneEntry>
  queries: Array<{ name: string, type: string, tcp: boolean }>
  queriesFor: (name: string) => Array<{ name: string, type: string, tcp: boolean }>
  close: () => Promise<void>
}

const SOA = (ttl: number): packet.Answer => ({ type: 'SOA', name: 'test', ttl, data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: ttl } }) as packet.Answer

function answer (zone: Map<string, ZoneEntry>, q: packet.Question, id: number, tcp: boolean): Buffer | null {
  const name = q.name.toLowerCase().replace(/\.$/, '')
  const entry = zone.get(name)
  const base = { type: 'response' as const, id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE, questions: [q] }
  if (entry?.fail === 'timeout') return null
  if (entry?.fail !== undefined) return packet.encode({ ...base, flags: base.flags | (entry.fail === 'SERVFAIL' ? 2 : 5) })
  if (entry === undefined) return packet.encode({ ...base, flags: base.flags | 3, authorities: [SOA(30)] })
  if (entry.truncate === true && !tcp) return packet.encode({ ...base, flags: base.flags | packet.TRUNCATED_RESPONSE })
  const ttl = entry.ttl ?? 300
  const answers: packet.Answer[] = []
  let target = entry
  let targetName = name
  if (entry.CNAME !== undefined) {
    answers.push({ type: 'CNAME', name, ttl, data: entry.CNAME } as packet.Answer)
    targetName = entry.CNAME
    target = zone.get(entry.CNAME) ?? {}
  }
  const tttl = target.ttl ?? ttl
  if (q.type === 'MX') for (const mx of target.MX ?? []) answers.push({ type: 'MX', name: targetName, ttl: tttl, data: mx } as packet.Answer)
  if (q.type === 'A') for (const a of target.A ?? []) answers.push({ type: 'A', name: targetName, ttl: tttl, data: a } as packet.Answer)
  if (q.type === 'AAAA') for (const a of target.AAAA ?? []) answers.push({ type: 'AAAA', name: targetName, ttl: tttl, data: a } as packet.Answer)
  return packet.encode({ ...base, answers, authorities: answers.length === 0 ? [SOA(ttl)] : [] })
}

/**
 * UDP and TCP on one port number: the kernel picks a free UDP port, which TCP may have in use
 * (another test's server or outgoing connection), so that pair is tried again with another.
 * `answer` gives the UDP reply to a query (null: none).
 */
export async function bindPair (tcp: Server, answer: (msg: Buffer) => Buffer | null): Promise<{ udp: Socket, port: number }> {
  for (let attempt = 1; ; attempt++) {
    const u = createSocket('udp4')
    u.on('message', (msg, rinfo) => {
      const res = answer(msg)
      if (res !== null) u.send(res, rinfo.port, rinfo.address)
    })
    await new Promise<void>((resolve) => u.bind(0, '127.0.0.1', resolve))
    const port = u.address().port
    try {
      await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(port, '127.0.0.1', () => { tcp.off('error', reject); resolve() }) })
      return { udp: u, port }
    } catch (err) {
      await new Promise<void>((resolve) => u.close(() => resolve()))
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= 20) throw err
    }
  }
}

export async function startDnsServer (t: { teardown: (fn: () => unknown) => void }, zone: Record<string, ZoneEntry> = {}): Promise<DnsServer> {
  const table = new Map(Object.entries(zone))
  const queries: DnsServer['queries'] = []
  const handle = (msg: Buffer, tcp: boolean): Buffer | null => {
    let req: packet.DecodedPacket
    try { req = packet.decode(msg) } catch { return null }
    const q = req.questions?.[0]
    if (q === undefined) return null
    queries.push({ name: q.name.toLowerCase(), type: q.type, tcp })
    return answer(table, q, req.id ?? 0, tcp)
  }
  const tcp: Server = createServer((socket) => {
    let buf = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0)
        const res = handle(buf.subarray(2, 2 + n), true)
        buf = buf.subarray(2 + n)
        if (res === null) continue
        const len = Buffer.alloc(2)
        len.writeUInt16BE(res.length)
        socket.write(Buffer.concat([len, res]))
      }
    })
    socket.on('error', () => {})
  })
  const { udp: bound, port } = await bindPair(tcp, (msg) => handle(msg, false))
  const s: DnsServer = {
    address: `127.0.0.1:${port}`,
    port,
    zone: table,
    queries,
    queriesFor: (name) => queries.filter((q) => q.name === name),
    close: async () => {
      await new Promise<void>((resolve) => bound.close(() => resolve()))
      await new Promise<void>((resolve) => tcp.close(() => resolve()))
    }
  }
  t.teardown(() => s.close())
  void (tcp.address() as AddressInfo)
  return s
}
