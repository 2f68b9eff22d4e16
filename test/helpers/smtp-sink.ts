import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

// An SMTP server on loopback that accepts every mail and keeps it: enough of RFC 5321 for
// nodemailer (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT), no TLS. Tests read what
// arrived from `mails`, or wait for the next one.

export interface SunkMail {
  from: string
  to: string[]
  /** The message as sent (headers and body), dot-stuffing undone */
  data: string
  /** The user of AUTH PLAIN, when the client authenticated */
  user: string | null
}

export interface SmtpSink {
  host: string
  port: number
  mails: SunkMail[]
  /** Resolves with the next mail (or the n-th, counting all so far) */
  waitFor: (count?: number, timeoutMs?: number) => Promise<SunkMail>
  close: () => Promise<void>
}

const MAX_LINE = 64 * 1024
const MAX_DATA = 1024 * 1024

export async function startSmtpSink (t?: { teardown: (fn: () => unknown) => void }): Promise<SmtpSink> {
  const mails: SunkMail[] = []
  const waiters: Array<{ count: number, resolve: (m: SunkMail) => void }> = []
  const sockets = new Set<Socket>()
  const delivered = (m: SunkMail): void => {
    mails.push(m)
    for (const w of [...waiters]) {
      if (mails.length >= w.count) { waiters.splice(waiters.indexOf(w), 1); w.resolve(mails[w.count - 1] as SunkMail) }
    }
  }
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    let inData = false
    let data: string[] = []
    let dataBytes = 0
    let from = ''
    let to: string[] = []
    let user: string | null = null
    const say = (line: string): void => { socket.write(line + '\r\n') }
    say('220 smtp-sink ESMTP')
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      if (buffered.length > MAX_DATA + MAX_LINE) { socket.destroy(); return }
      let at: number
      while ((at = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, at)
        buffered = buffered.slice(at + 2)
        if (inData) {
          if (line === '.') {
            inData = false
            delivered({ from, to, data: Buffer.from(data.join('\r\n'), 'latin1').toString('utf8'), user })
            data = []; dataBytes = 0; from = ''; to = []
            say('250 2.0.0 queued')
          } else {
            dataBytes += line.length
            if (dataBytes > MAX_DATA) { say('552 too big'); socket.destroy(); return }
            data.push(line.startsWith('..') ? line.slice(1) : line)
          }
          continue
        }
        const verb = line.slice(0, 4).toUpperCase()
        if (verb === 'EHLO') { say('250-smtp-sink'); say('250-AUTH PLAIN'); say('250 8BITMIME') } else if (verb === 'HELO') say('250 smtp-sink')
        else if (verb === 'AUTH') {
          const plain = /^AUTH PLAIN (\S+)$/i.exec(line)
          if (plain === null) { say('504 only AUTH PLAIN with its argument'); continue }
          user = Buffer.from(plain[1] as string, 'base64').toString('utf8').split('\0')[1] ?? null
          say('235 2.7.0 accepted')
        } else if (verb === 'MAIL') { from = /<([^>]*)>/.exec(line)?.[1] ?? ''; say('250 2.1.0 ok') } else if (verb === 'RCPT') { to.push(/<([^>]*)>/.exec(line)?.[1] ?? ''); say('250 2.1.5 ok') } else if (verb === 'DATA') { inData = true; say('354 go ahead') } else if (verb === 'RSET') { from = ''; to = []; say('250 ok') } else if (verb === 'NOOP') say('250 ok')
        else if (verb === 'QUIT') { say('221 bye'); socket.end() } else say('502 not implemented')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const sink: SmtpSink = {
    host: '127.0.0.1',
    port,
    mails,
    waitFor: async (count = mails.length + 1, timeoutMs = 10_000) => {
      if (mails.length >= count) return mails[count - 1] as SunkMail
      return await new Promise<SunkMail>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`no mail number ${count} within ${timeoutMs} ms`)) }, timeoutMs)
        waiters.push({ count, resolve: (m) => { clearTimeout(timer); resolve(m) } })
      })
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  t?.teardown(() => sink.close())
  return sink
}
