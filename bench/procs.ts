import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { createInterface } from 'node:readline'

// Child processes of the benchmark: started, waited for, and always stopped again.

export interface Child {
  proc: ChildProcess
  /** What the process wrote to stderr so far (for error messages) */
  stderr: () => string
  stop: () => Promise<void>
}

const running = new Set<Child>()

export function startChild (cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  let err = ''
  proc.stderr?.on('data', (c: Buffer) => { if (err.length < 20_000) err += c.toString() })
  const child: Child = {
    proc,
    stderr: () => err,
    async stop () {
      running.delete(child)
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = once(proc, 'exit')
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
  running.add(child)
  return child
}

/** Stops every child still running (on exit or failure). */
export async function stopAll (): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()))
}

/** The first stdout line of a child, parsed as JSON. */
export async function firstJsonLine<T> (child: Child, timeoutMs = 30_000): Promise<T> {
  const stdout = child.proc.stdout
  if (stdout == null) throw new Error('child has no stdout')
  const lines = createInterface({ input: stdout })
  const timer = setTimeout(() => lines.close(), timeoutMs)
  try {
    for await (const line of lines) return JSON.parse(line) as T
  } finally {
    clearTimeout(timer)
  }
  throw new Error(`child exited or timed out before printing its line: ${child.stderr()}`)
}

/** A port free right now on loopback (for programs that cannot report the one they got). */
export async function freePort (): Promise<number> {
  const srv = createServer()
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const port = (srv.address() as { port: number }).port
  srv.close()
  await once(srv, 'close')
  return port
}

/** Resolves once something accepts connections on the port; fails if the child dies first. */
export async function waitForPort (port: number, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`process exited with ${child.proc.exitCode}: ${child.stderr()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listening on port ${port} after ${timeoutMs} ms: ${child.stderr()}`)
}

function ticksOf (pid: number): number {
  try {
    // fields after the command name (which may hold spaces): utime is the 12th, stime the 13th
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return 0
  }
}

/** CPU time (user + system, ms) of the process alone, without its children (a cluster's primary) */
export function ownCpuMs (pid: number | undefined): number {
  return pid === undefined ? 0 : ticksOf(pid) * 10
}

function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number)
  } catch {
    return []
  }
}

/**
 * CPU time (user + system, ms) used so far by a process and its children (nginx's worker,
 * cluster workers). Unlike req/s it barely depends on what else the machine is doing.
 * Linux only; 0 elsewhere.
 */
export function cpuMs (pid: number | undefined): number {
  if (pid === undefined) return 0
  let ticks = ticksOf(pid)
  for (const c of childrenOf(pid)) ticks += ticksOf(c)
  return ticks * 10 // USER_HZ is 100 on Linux
}
