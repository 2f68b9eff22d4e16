import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { load, type LoadResult, type LoadSpec } from './load.js'
import { cpuMs, firstJsonLine, startChild, stopAll, type Child } from './procs.js'
import { startRegguard } from './regguard.js'
import { SCENARIOS } from './scenarios.js'
import { fmt, table } from './table.js'

// Where a request's CPU goes: regguard (the bench's configuration: the example's, decision log at
// info to a file, history on) and the scenario's bare fastify reference (the denial: fastify
// answering the same 403; pass-through GET: fastify with @fastify/http-proxy), each under node
// --cpu-prof during the same wrk load, their samples summed by self time per function and per
// file or package, in microseconds per request. Only samples taken while wrk measured count
// (the profile's clock is the monotonic one process.hrtime reads). Samples are wall time: on a
// busy machine a function that waits for the CPU (a socket write) looks dearer than it is.
// node dist/bench/profile.js [--scenario denied|get] [--seconds S] [--top N] [--keep DIR]

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: Node[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A file's group: regguard's own file, a package, a node core module, or V8 itself. */
function groupOf (url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : `(native) ${fn}`
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  const nm = path.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/')
    return (parts[0] as string).startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0] as string
  }
  // tsc's output, as the profile's line numbers are
  if (path.startsWith(ROOT)) return relative(ROOT, path).replace(/^dist\//, '')
  return path
}

export interface Summary {
  requests: number
  byFunction: Map<string, number>
  byGroup: Map<string, number>
  /** time with the function anywhere on the stack (regguard's files and packages only) */
  inclusive: Map<string, number>
  totalUs: number
}

export function summarise (profile: Profile, fromUs: number, toUs: number, requests: number): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const keyOf = (n: Node): { key: string, group: string } => {
    const { functionName, url, lineNumber } = n.callFrame
    const group = groupOf(url, functionName || '(anonymous)')
    return { key: `${functionName || '(anonymous)'} ${url === '' ? '' : `${group}:${lineNumber + 1}`}`.trim(), group }
  }
  const inclusive = new Map<string, number>()
  const byFunction = new Map<string, number>()
  const byGroup = new Map<string, number>()
  let t = profile.startTime
  let totalUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    t += dt
    if (t < fromUs || t > toUs) continue
    const node = byId.get(profile.samples[i] as number)
    if (node === undefined) continue
    if (node.callFrame.functionName === '(idle)') continue
    // a sample stands for the time until the next one
    const us = profile.timeDeltas[i + 1] ?? dt
    const { key: fn, group } = keyOf(node)
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
    const seen = new Set<string>()
    for (let at: Node | undefined = node; at !== undefined; at = byId.get(parent.get(at.id) ?? -1)) {
      const k = keyOf(at)
      if (k.group.startsWith('src/') || (!k.group.startsWith('node:') && !k.group.startsWith('(') && k.group !== '')) seen.add(k.key)
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + us)
    byGroup.set(group, (byGroup.get(group) ?? 0) + us)
    totalUs += us
  }
  return { requests, byFunction, byGroup, inclusive, totalUs }
}

async function profiled (name: string, spec: LoadSpec, start: (profDir: string) => Promise<{ url: string, child: Child }>, seconds: number, dir: string): Promise<{ summary: Summary, result: LoadResult }> {
  const profDir = join(dir, `prof-${name}`)
  const { url, child } = await start(profDir)
  await load(url, spec, 2, 0)
  const from = Number(process.hrtime.bigint() / 1000n)
  const result = await load(url, spec, seconds, 0, () => cpuMs(child.proc.pid))
  const to = Number(process.hrtime.bigint() / 1000n)
  await child.stop()
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`${name}: no profile written in ${profDir}`)
  const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as Profile
  let summary = summarise(profile, from, to, result.requests)
  // a clock that does not match (another platform): the whole run, start-up included
  if (summary.totalUs === 0) summary = summarise(profile, -Infinity, Infinity, result.requests)
  return { summary, result }
}

function top (m: Map<string, number>, n: number): Array<[string, number]> {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
}

export async function profileScenario (key: string, seconds: number, topN: number, keep?: string): Promise<string> {
  const scenario = SCENARIOS.find((x) => x.key === key)
  if (scenario === undefined) throw new Error(`no scenario ${key}`)
  const spec = scenario.spec(32, 10)
  const refName = scenario.reference
  const refMode = refName === 'fastify-403' ? 'deny' : 'proxy'
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'regguard-profile-'))
  const args = (profDir: string): string[] => ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '200']
  try {
    const upstream = startChild(process.execPath, [fileURLToPath(new URL('./upstream.js', import.meta.url))])
    const { port } = await firstJsonLine<{ port: number }>(upstream)
    const upstreamUrl = `http://127.0.0.1:${port}`
    const fastify = await profiled(refName, spec, async (profDir) => {
      const child = startChild(process.execPath, [...args(profDir), fileURLToPath(new URL('./fastify-references.js', import.meta.url)), refMode, upstreamUrl])
      const { port: p } = await firstJsonLine<{ port: number }>(child)
      return { url: `http://127.0.0.1:${p}`, child }
    }, seconds, dir)
    const regguard = await profiled('regguard', spec, async (profDir) => {
      const rg = await startRegguard(dir, upstreamUrl, { nodeArgs: args(profDir) })
      return { url: rg.url, child: rg.child }
    }, seconds, dir)
    await upstream.stop()
    const per = (s: Summary, us: number | undefined): string => fmt((us ?? 0) / s.requests, 1)
    const groups = new Set([...top(regguard.summary.byGroup, topN), ...top(fastify.summary.byGroup, topN)].map(([g]) => g))
    const groupRows = [...groups]
      .map((g) => [g, (regguard.summary.byGroup.get(g) ?? 0) / regguard.summary.requests, (fastify.summary.byGroup.get(g) ?? 0) / fastify.summary.requests] as const)
      .sort((a, b) => (b[1] - b[2]) - (a[1] - a[2]))
      .map(([g, r, f]) => [g, fmt(r, 1), fmt(f, 1), fmt(r - f, 1)])
    const line = (name: string, x: { summary: Summary, result: LoadResult }): string =>
      `${name}: ${fmt(x.result.rps)} req/s, ${fmt(x.result.cpuUsPerReq)} us CPU a request (/proc), ${per(x.summary, x.summary.totalUs)} us sampled (not idle), ${fmt(x.summary.requests)} requests`
    return [
      `${scenario.title} under node --cpu-prof (200 us sampling), wrk -t1 -c32 for ${seconds} s after 2 s of warm-up${key === 'denied' || key === 'allowed' ? ', a unique address per request' : ''}`,
      line('regguard', regguard),
      line(refName, fastify),
      '',
      `self time by file or package, us a request (sorted by regguard minus ${refName})`,
      '',
      table(['file or package', 'regguard', refName, 'difference'], groupRows),
      '',
      `regguard: the ${topN} functions with the most self time, us a request`,
      '',
      table(['function', 'us/req', 'share'], top(regguard.summary.byFunction, topN).map(([f, us]) => [f, per(regguard.summary, us), `${fmt(100 * us / regguard.summary.totalUs, 1)} %`])),
      '',
      `regguard: the ${topN} functions of its own files and packages with the most time on the stack (inclusive), us a request`,
      '',
      table(['function', 'us/req', 'share'], top(regguard.summary.inclusive, topN).map(([f, us]) => [f, per(regguard.summary, us), `${fmt(100 * us / regguard.summary.totalUs, 1)} %`])),
      '',
      `${refName}: the ${Math.min(topN, 15)} functions with the most self time, us a request`,
      '',
      table(['function', 'us/req', 'share'], top(fastify.summary.byFunction, Math.min(topN, 15)).map(([f, us]) => [f, per(fastify.summary, us), `${fmt(100 * us / fastify.summary.totalUs, 1)} %`]))
    ].join('\n')
  } finally {
    await stopAll()
    if (keep === undefined) rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { scenario: { type: 'string' }, seconds: { type: 'string' }, top: { type: 'string' }, keep: { type: 'string' } } })
  profileScenario(values.scenario ?? 'denied', Number(values.seconds ?? 10), Number(values.top ?? 30), values.keep).then((text) => {
    process.stdout.write(text + '\n')
  }, async (err: unknown) => {
    await stopAll()
    process.stderr.write(`profile: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
