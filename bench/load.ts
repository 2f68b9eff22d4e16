import { wrk, type WrkSpec } from './wrk.js'

// One load run with wrk (bench/wrk.ts): a warm-up whose numbers are thrown away, then the
// measurement; and the rounds of one target combined.

export type LoadSpec = WrkSpec

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  /** Answers by status code, to tell a proxy that answered from one that failed */
  statuses: Record<string, number>
  errors: number
  /** CPU time the measured process spent per answered request, in microseconds */
  cpuUsPerReq: number | null
  /** answered requests and the CPU milliseconds they took (to combine runs) */
  requests: number
  cpuMs: number | null
  /** the load generator's own CPU time per request, microseconds */
  clientUsPerReq: number
  clientCpuMs: number
}

export async function load (base: string, spec: LoadSpec, durationS: number, warmupS: number, cpu?: () => number): Promise<LoadResult> {
  if (warmupS > 0) await wrk(base, spec, warmupS)
  const cpu0 = cpu?.() ?? 0
  const r = await wrk(base, spec, durationS)
  const cpuUsed = (cpu?.() ?? 0) - cpu0
  const { connect, read, write, timeout } = r.errors
  return {
    rps: r.requests / (r.durationUs / 1e6),
    p50: r.p50Us / 1000,
    p99: r.p99Us / 1000,
    statuses: r.statuses,
    errors: connect + read + write + timeout,
    cpuUsPerReq: cpu === undefined || r.requests === 0 ? null : cpuUsed * 1000 / r.requests,
    requests: r.requests,
    cpuMs: cpu === undefined ? null : cpuUsed,
    clientUsPerReq: r.requests === 0 ? NaN : r.clientCpuUs / r.requests,
    clientCpuMs: r.clientCpuUs / 1000
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** Several rounds of one target as one row: mean req/s, median latencies, summed answers and CPU. */
export function combine (rounds: LoadResult[]): LoadResult {
  const statuses: Record<string, number> = {}
  for (const r of rounds) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n
  const requests = rounds.reduce((a, r) => a + r.requests, 0)
  const cpuMs = rounds.some((r) => r.cpuMs === null) ? null : rounds.reduce((a, r) => a + (r.cpuMs as number), 0)
  return {
    rps: rounds.reduce((a, r) => a + r.rps, 0) / rounds.length,
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    statuses,
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    cpuUsPerReq: cpuMs === null || requests === 0 ? null : cpuMs * 1000 / requests,
    requests,
    cpuMs,
    clientUsPerReq: requests === 0 ? NaN : rounds.reduce((a, r) => a + r.clientCpuMs, 0) * 1000 / requests,
    clientCpuMs: rounds.reduce((a, r) => a + r.clientCpuMs, 0)
  }
}

/** The median over rounds of a/b, round by round (each pair measured minutes apart at most). */
export function roundRatios (a: LoadResult[], b: LoadResult[]): { ratios: number[], median: number } {
  const ratios = a.map((x, i) => x.rps / (b[i]?.rps ?? NaN)).filter((r) => Number.isFinite(r))
  return { ratios, median: ratios.length === 0 ? NaN : median(ratios) }
}
