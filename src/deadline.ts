// A bound on how long a request waits for a backend (the store, Redis): a connection whose peer
// vanished without a reset would otherwise hold it until TCP gives up, minutes later.

/** Rejects when `p` has not settled within `ms`. `p` is not cancelled; its late answer is dropped. */
export async function withDeadline<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: no answer within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([p, late])
  } finally {
    clearTimeout(timer)
    // a failure after the deadline won must not become an unhandled rejection
    p.catch(() => {})
  }
}
