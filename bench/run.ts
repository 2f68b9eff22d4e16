import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { combine, load, roundRatios, type LoadResult } from './load.js'
import { footprintTable, footprintTargets, measureFootprint } from './footprint.js'
import { loadAverage, machineLines } from './machine.js'
import { findNginx, nginxVersion, startNginx } from './nginx.js'
import { policyTable, runPolicyBench } from './policy.js'
import { cpuMs, firstJsonLine, startChild, stopAll } from './procs.js'
import { startRegguard } from './regguard.js'
import { SCENARIOS, type Scenario } from './scenarios.js'
import { fmt, table } from './table.js'
import { workersSection } from './workers.js'
import { floodSection } from './flood.js'
import { wrkVersion } from './wrk.js'

// npm run bench [-- options]: the upstream alone, nginx, the node:http and bare fastify
// references and regguard under the same wrk load, the footprint, memory under a denial flood,
// server.workers, then the policy micro-benchmark. Prints markdown tables; nothing is asserted.
// Where a request's CPU goes: node dist/bench/profile.js (bench/profile.ts).

const USAGE = `usage: npm run bench -- [options]
  --policy-only          only the policy decision micro-benchmark
  --http-only            only the HTTP scenarios
  --duration S           seconds measured per row, over all its rounds (default 9)
  --rounds N             each scenario's targets are measured in N rounds, in turn (the order
                         reversed every other round), so a busy minute weighs on all of them;
                         a target ratio is the median of its rounds' ratios (default 3)
  --warmup S             seconds of warm-up before a target's first round, not measured (default 2)
  --connections N        connections for the small requests (default 32)
  --post-connections N   connections for the 1 MiB uploads (default 10)
  --scenarios LIST       get,post,denied,allowed (default: all)
  --targets LIST         upstream,nginx,node-proxy,fastify-proxy,bare-403,fastify-403,regguard,
                         regguard-noinvite,footprint,flood,workers (default: all). fastify-proxy and
                         fastify-403 are the references of the targets (bench/fastify-references.ts),
                         node-proxy and bare-403 the same on node:http (bench/references.ts);
                         regguard-noinvite is regguard with register.policy.invite false, denied
                         requestToken only; footprint: idle RSS and start-up time
                         (bench/footprint.ts); flood: memory under a denial flood and
                         --max-semi-space-size (bench/flood.ts); workers: server.workers 1 and 2
                         side by side and the IPC cost of a rate-limit hit, bench/workers.ts)
  --flood-after S        seconds after the flood at which RSS is read again (default 30)
  --cpu-prof DIR         run regguard under node --cpu-prof, profiles written to DIR
`

const DENIAL_GOAL = 0.8
const PASS_GOAL = 0.9

interface Row { scenario: Scenario, target: string, result: LoadResult, rounds: LoadResult[] }

function list (v: string | undefined, all: string[]): string[] {
  return v === undefined ? all : v.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

const ALL_TARGETS = ['upstream', 'nginx', 'node-proxy', 'fastify-proxy', 'bare-403', 'fastify-403', 'regguard', 'regguard-noinvite', 'footprint', 'flood', 'workers']

async function httpBench (values: Record<string, string | boolean | undefined>): Promise<void> {
  const duration = Number(values.duration ?? 9)
  const roundCount = Math.max(1, Math.floor(Number(values.rounds ?? 3)))
  const warmup = Number(values.warmup ?? 2)
  const connections = Number(values.connections ?? 32)
  const postConnections = Number(values['post-connections'] ?? 10)
  const scenarios = SCENARIOS.filter((s) => list(values.scenarios as string | undefined, SCENARIOS.map((x) => x.key)).includes(s.key))
  const targets = list(values.targets as string | undefined, ALL_TARGETS)
  const nginxBin = findNginx()
  const version = nginxBin === null ? 'not installed (bash .ci/install-nginx.sh): nginx rows skipped' : nginxVersion(nginxBin)
  for (const l of machineLines(version)) process.stdout.write(l + '\n')
  const perRound = Math.max(1, Math.round(duration / roundCount))
  process.stdout.write(`load: ${wrkVersion()}, one thread (wrk -t1), ${connections} connections (${postConnections} for 1 MiB POST), ${warmup} s warm-up + ${roundCount} rounds of ${perRound} s per row, taken in turn with the scenario's other targets, the order reversed every other round\n` +
    'regguard: config/regguard.example.yaml (decision log at info, to a file; history on, SQLite) with its ports, the upstream, the two email domain lists and rate limits no request reaches\n\n')

  const dir = mkdtempSync(join(tmpdir(), 'regguard-bench-'))
  try {
    const upstream = startChild(process.execPath, [new URL('./upstream.js', import.meta.url).pathname])
    const { port } = await firstJsonLine<{ port: number }>(upstream)
    const upstreamUrl = `http://127.0.0.1:${port}`
    const wanted = new Set(scenarios.flatMap((s) => s.targets).filter((t) => targets.includes(t)))
    const bases: Array<[string, string, number | undefined]> = []
    if (wanted.has('upstream')) bases.push(['upstream', upstreamUrl, upstream.proc.pid])
    if (wanted.has('nginx') && nginxBin !== null) {
      const nginx = await startNginx(nginxBin, dir, port)
      bases.push(['nginx', nginx.url, nginx.child.proc.pid])
    }
    const refs = [['node-proxy', 'references.js', 'proxy'], ['bare-403', 'references.js', 'deny'], ['fastify-proxy', 'fastify-references.js', 'proxy'], ['fastify-403', 'fastify-references.js', 'deny']] as const
    for (const [name, file, mode] of refs) {
      if (!wanted.has(name)) continue
      const ref = startChild(process.execPath, [new URL(`./${file}`, import.meta.url).pathname, mode, upstreamUrl])
      const { port: refPort } = await firstJsonLine<{ port: number }>(ref)
      bases.push([name, `http://127.0.0.1:${refPort}`, ref.proc.pid])
    }
    const profArgs = values['cpu-prof'] !== undefined ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof'] as string] : []
    if (wanted.has('regguard')) {
      const rg = await startRegguard(dir, upstreamUrl, { nodeArgs: profArgs })
      bases.push(['regguard', rg.url, rg.child.proc.pid])
    }
    if (wanted.has('regguard-noinvite')) {
      const rg = await startRegguard(dir, upstreamUrl, { invite: false, nodeArgs: profArgs })
      bases.push(['regguard-noinvite', rg.url, rg.child.proc.pid])
    }

    const rows: Row[] = []
    for (const s of scenarios) {
      const here = bases.filter(([target]) => s.targets.includes(target))
      const rounds = new Map<string, LoadResult[]>(here.map(([target]) => [target, []]))
      for (let round = 0; round < roundCount; round++) {
        for (const [target, base, pid] of round % 2 === 0 ? here : [...here].reverse()) {
          const result = await load(base, s.spec(connections, postConnections), perRound, round === 0 ? warmup : 0, () => cpuMs(pid))
          rounds.get(target)?.push(result)
          process.stderr.write(`  ${s.title} / ${target} (round ${round + 1}): ${fmt(result.rps)} req/s, ${fmt(result.cpuUsPerReq)} us/req\n`)
        }
      }
      for (const [target] of here) {
        const of = rounds.get(target) as LoadResult[]
        rows.push({ scenario: s, target, result: combine(of), rounds: of })
      }
    }
    process.stdout.write(table(
      ['scenario', 'target', 'req/s', 'CPU us/req', 'x reference (req/s)', 'p50 ms', 'p99 ms', 'wrk us/req', 'answers'],
      rows.map((r) => {
        const ref = rows.find((x) => x.scenario === r.scenario && x.target === r.scenario.reference)
        const statuses = Object.entries(r.result.statuses).map(([c, n]) => `${c}: ${fmt(n)}`).join(', ')
        return [
          r.scenario.title, r.target, fmt(r.result.rps), fmt(r.result.cpuUsPerReq),
          ref === undefined || ref === r ? '-' : fmt(roundRatios(r.rounds, ref.rounds).median, 2),
          fmt(r.result.p50, 2), fmt(r.result.p99, 2), fmt(r.result.clientUsPerReq, 1),
          statuses + (r.result.errors > 0 ? `, errors: ${fmt(r.result.errors)}` : '')
        ]
      })
    ) + '\n')
    process.stdout.write('(req/s: mean of the rounds; CPU us/req: user + system CPU time of that target\'s processes (/proc/PID/stat, nginx with its worker) per answered request;\n' +
      ' x reference: the median over rounds of req/s over that of the scenario\'s reference (fastify-proxy, or fastify-403 for the denial); wrk us/req: the load generator\'s own CPU)\n')
    const footprint = targets.includes('footprint') ? await measureFootprint() : undefined
    if (footprint !== undefined) process.stdout.write('\nfootprint (bench/footprint.ts): the CLI with config/regguard.example.yaml, no flags\n\n' + footprintTable(footprint) + '\n')
    process.stdout.write('\n' + targetTable(rows, footprint === undefined ? [] : footprintTargets(footprint)) + '\n')
    if (targets.includes('flood')) {
      process.stdout.write('\n' + await floodSection({ dir, upstreamUrl, spec: (SCENARIOS.find((x) => x.key === 'denied') as Scenario).spec(connections, postConnections), after: Number(values['flood-after'] ?? 30) }) + '\n')
    }
    if (targets.includes('workers')) {
      process.stdout.write('\n' + await workersSection({ dir, upstreamUrl, scenarios, duration: Math.min(duration, 6), warmup, connections, postConnections, nodeArgs: profArgs }) + '\n')
    }
    process.stdout.write(`load average at end: ${loadAverage()}\n`)
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Issue 21's targets, each a ratio of two rows measured in this run: the median of the rounds'
 * ratios (each round's two measurements taken one after the other), with the CPU time per
 * request beside it (the reference's over regguard's: less swayed by the machine's other load).
 */
function targetTable (rows: Row[], extra: string[][] = []): string {
  const row = (scenario: string, target: string): Row | undefined => rows.find((r) => r.scenario.key === scenario && r.target === target)
  const goals: Array<[string, string, string, string, number]> = [
    ['denied requestToken, default config', 'denied', 'regguard', 'fastify-403', DENIAL_GOAL],
    ['pass-through GET', 'get', 'regguard', 'fastify-proxy', PASS_GOAL]
  ]
  const body = goals.map(([title, scenario, a, b, goal]) => {
    const x = row(scenario, a)
    const y = row(scenario, b)
    if (x === undefined || y === undefined) return [title, a, b, 'not measured', '-', '-', `>= ${goal}`, '-']
    const { ratios, median } = roundRatios(x.rounds, y.rounds)
    const cpu = (y.result.cpuUsPerReq ?? NaN) / (x.result.cpuUsPerReq ?? NaN)
    return [title, a, b, fmt(median, 2), ratios.map((r) => fmt(r, 2)).join(' / '), `${fmt(cpu, 2)} (${fmt(x.result.cpuUsPerReq)} vs ${fmt(y.result.cpuUsPerReq)} us)`, `>= ${goal}`, Number.isNaN(median) ? '-' : median >= goal ? 'yes' : 'no']
  })
  const footprint = extra.map(([title, measured, against, ratio, goal, met]) => [title as string, measured as string, against as string, ratio as string, '-', '-', goal as string, met as string])
  return table(['target', 'measured', 'against', 'ratio', 'rounds', 'CPU/req ratio', 'goal', 'met'], [...body, ...footprint]) +
    '\n(ratio: req/s of "measured" over "against", the median of the rounds\' ratios; CPU/req ratio: the CPU time per request of "against" over that of "measured", over all rounds;\n' +
    ' the footprint rows are medians of restarts, bench/footprint.ts)'
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      'policy-only': { type: 'boolean' },
      'http-only': { type: 'boolean' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'post-connections': { type: 'string' },
      scenarios: { type: 'string' },
      targets: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'flood-after': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) { process.stdout.write(USAGE); return }
  if (values['policy-only'] !== true) await httpBench(values)
  if (values['http-only'] !== true) {
    process.stdout.write('\npolicy decision (email, domain blacklist from a generated file; each size in a fresh process)\n\n')
    process.stdout.write(policyTable(await runPolicyBench()) + '\n')
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => { void stopAll().finally(() => process.exit(130)) })
}
main().catch(async (err) => {
  await stopAll()
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
