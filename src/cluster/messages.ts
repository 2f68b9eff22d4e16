// What the primary and its workers tell each other about their lives (the rate-limit counts and
// the metrics have their own messages, in src/ratelimit/ipc-counter.ts and ./metrics.ts).

/** worker → primary: listening, on these addresses */
export const READY = 'regguard:ready'
/** primary → worker: drain and exit (SIGTERM or SIGINT reached the primary) */
export const SHUTDOWN = 'regguard:shutdown'
/** primary → worker: re-read the configuration (SIGHUP reached the primary) */
export const RELOAD = 'regguard:reload'
