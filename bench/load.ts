import autocannon from 'autocannon'

// One load run with autocannon: a warm-up whose numbers are thrown away, then the measurement.

export interface LoadSpec {
  method: 'GET' | 'POST'
  path: string
  body?: Buffer
  headers?: Record<string, string>
  connections: number
}

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  /** Answers by status code, to tell a proxy that answered from one that failed */
  statuses: Record<string, number>
  errors: number
  /** CPU time the measured process spent per answered request, in microseconds */
  cpuUsPerReq: number | null
}

export async function load (base: string, spec: LoadSpec, durationS: number, warmupS: number, cpu?: () => number): Promise<LoadResult> {
  const opts = {
    url: base + spec.path,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    timeout: 30
  }
  if (warmupS > 0) await autocannon({ ...opts, duration: warmupS })
  const cpu0 = cpu?.() ?? 0
  const r = await autocannon({ ...opts, duration: durationS })
  const cpuUsed = (cpu?.() ?? 0) - cpu0
  const statuses: Record<string, number> = {}
  for (const [code, s] of Object.entries(r.statusCodeStats)) statuses[code] = s.count
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, statuses, errors: r.errors + r.timeouts, cpuUsPerReq: cpu === undefined || r.requests.total === 0 ? null : cpuUsed * 1000 / r.requests.total }
}
