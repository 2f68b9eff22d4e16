// autocannon ships no types; only the part of its programmatic API the benchmark uses.
declare module 'autocannon' {
  interface Histogram { average: number, mean: number, p50: number, p90: number, p99: number, max: number }
  interface Result {
    requests: Histogram & { total: number, sent: number }
    latency: Histogram
    throughput: Histogram
    errors: number
    timeouts: number
    non2xx: number
    duration: number
    statusCodeStats: Record<string, { count: number }>
  }
  interface Options {
    url: string
    method?: string
    headers?: Record<string, string>
    body?: string | Buffer
    connections?: number
    pipelining?: number
    duration?: number
    timeout?: number
  }
  function autocannon (opts: Options): Promise<Result>
  export default autocannon
}
