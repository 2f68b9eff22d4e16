// A bound on how long a request waits for a backend (the store, Redis): a connection whose peer
// vanished without a reset would otherwise hold it until TCP gives up, minutes later.

/**
 * Rejects when `work` has not settled within `ms`. It is not cancelled; its late answer is
 * dropped. Given as a function, the deadline starts first, so a timer of the work's own with the
 * same length (a driver's connect timeout) never wins the race against it.
 */
export async function withDeadline<T> (work: Promise<T> | (() => Promise<T>), ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: no answer within ${ms} ms`)) }, ms)
  })
  const p = typeof work === 'function' ? work() : work
  try {
    return await Promise.race([p, late])
  } finally {
    clearTimeout(timer)
    // a failure after the deadline won must not become an unhandled rejection
    p.catch(() => {})
  }
}
