import t from 'tap'
import { Writable } from 'node:stream'
import { bounded, createLogger, MAX_FIELD_CHARS } from '../../src/log.js'

// Text from clients is cut before it reaches a log line or the history: at most
// MAX_FIELD_CHARS characters, the cut visible and counted.

t.test('bounded: short text as it is; long text cut to the bound, saying how much', async (t) => {
  t.equal(bounded('x'.repeat(MAX_FIELD_CHARS)), 'x'.repeat(MAX_FIELD_CHARS))
  for (const n of [MAX_FIELD_CHARS + 1, 300, 1000, 61_440, 1_000_000]) {
    const text = 'a'.repeat(n)
    const b = bounded(text)
    t.equal(b.length, MAX_FIELD_CHARS, `${n}: ${MAX_FIELD_CHARS} characters in all`)
    const m = /^(a*)…\[cut (\d+)\]$/.exec(b)
    t.ok(m !== null, `${n}: ends with the marker`)
    t.equal((m?.[1] ?? '').length + Number(m?.[2]), n, `${n}: kept plus cut is the whole`)
  }
  t.equal(bounded('abcdefghijklmnopqrstuvwxyz', 20), 'abcdefghijk…[cut 15]')
  // a surrogate pair is never split
  const emoji = '\u{1F600}'.repeat(200)
  const b = bounded(emoji)
  t.ok(b.length <= MAX_FIELD_CHARS)
  t.notOk(/[\ud800-\udbff]…/.test(b), 'no lone high surrogate before the marker')
})

t.test('the logger bounds every string field and every string in an array field', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l)); cb() } })
  const log = createLogger('info', sink).child({ reqId: 'req-1' })
  const huge = 'T'.repeat(60_000)
  log.info({ stage: huge, why: `stage ${huge} would finish`, agents: ['ok', huge], n: 3, short: 'fine' }, 'registration refused')
  await new Promise((resolve) => setImmediate(resolve))
  const line = lines[0] as Record<string, unknown>
  t.equal((line.stage as string).length, MAX_FIELD_CHARS)
  t.match(line.stage, /…\[cut 59\d{3}\]$/)
  t.equal((line.why as string).length, MAX_FIELD_CHARS)
  t.same((line.agents as string[])[0], 'ok')
  t.equal(((line.agents as string[])[1] as string).length, MAX_FIELD_CHARS)
  t.equal(line.n, 3)
  t.equal(line.short, 'fine')
  t.equal(line.reqId, 'req-1')
  t.ok(JSON.stringify(line).length < 2000, 'the line stays short')
})
