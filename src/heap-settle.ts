import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

// One memory-reducing garbage collection shortly after start-up. Loading the modules and
// building the app allocates tens of MB that survive (module code, the config), so V8 grows
// its young generation to 16 MB and more on the way, and keeps it and the freed pages resident
// afterwards: a regular collection frees the objects but not that memory. The "last-resort"
// collection V8 runs under memory pressure (Isolate::LowMemoryNotification) shrinks the young
// generation and returns the free pages to the system: about 18 MB of RSS for one pause of
// 30-100 ms, taken once, after listening. Under load the young generation grows again as V8
// sees fit; nothing is limited.

type Gc = (options: { type: 'major', execution: 'sync', flavor: 'last-resort' }) => void

function gcFunction (): Gc | null {
  const existing = (globalThis as { gc?: Gc }).gc
  if (typeof existing === 'function') return existing
  try {
    // V8's gc() extension is installed in contexts created while the flag is set: one is made
    // for it here, and the flag cleared again so no other context gets it
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as Gc | undefined
    setFlagsFromString('--no-expose-gc')
    return typeof gc === 'function' ? gc : null
  } catch {
    return null
  }
}

/** Schedules the collection delayMs from now (timers of start-up work have run by then). */
export function settleHeapSoon (delayMs = 1000): void {
  setTimeout(() => { gcFunction()?.({ type: 'major', execution: 'sync', flavor: 'last-resort' }) }, delayMs).unref()
}
