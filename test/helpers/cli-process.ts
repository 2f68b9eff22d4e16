import { spawn, type ChildProcess } from 'node:child_process'
import { run } from '../../src/cli/main.js'
import { existsSync } from 'node:fs'

// Runs the real `regguard serve` (dist/src/cli.js, built by npm ci's prepare) as a child
// process, with its JSON log lines collected for assertions.

import { freePort } from './net.js'
import { asInstalled, CLI } from './cli-path.js'
export { freePort }

export interface CliProcess {
  child: ChildProcess
  logs: Array<Record<string, unknown>>
  /** Resolves with the first log line (already seen or later) that `match` accepts */
  waitForLog: (match: (l: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>
  exited: Promise<number | null>
}

/**
 * `nodeArgs`: node's own flags, before the script (`node FLAGS dist/src/cli.js ARGS`);
 * `bare`: without NODE_OPTIONS, as operators run it. The test runner wraps child_process to add
 * its own --import to every child's NODE_OPTIONS (process tracking); `env -u` drops it after the
 * wrapper has added it.
 */
export function bareNode (nodeArgs: string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...nodeArgs]]
}

export function runCli (t: { teardown: (fn: () => unknown) => void }, args: string[], opts: { nodeArgs?: string[], bare?: boolean } = {}): CliProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const node = asInstalled(opts.nodeArgs)
  const [command, pre] = opts.bare === true ? bareNode(node) : [process.execPath, node]
  const child = spawn(command, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Array<Record<string, unknown>> = []
  const waiters: Array<() => void> = []
  let partial = ''
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      try { logs.push(JSON.parse(line) as Record<string, unknown>) } catch { logs.push({ raw: line }) }
    }
    for (const w of waiters.splice(0)) w()
  })
  child.stderr?.on('data', (d: Buffer) => { logs.push({ stderr: d.toString() }) })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const waitForLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 15000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms; got: ${JSON.stringify(logs).slice(0, 2000)}`)), timeoutMs)
      const check = (): void => {
        const hit = logs.find(match)
        if (hit !== undefined) { clearTimeout(deadline); resolve(hit); return }
        waiters.push(check)
      }
      check()
    })
  return { child, logs, waitForLog, exited }
}

let queue: Promise<unknown> = Promise.resolve()

/**
 * Runs one CLI command to completion in `cwd`, in this process (src/cli/main.ts run(), what the
 * regguard command runs), with the caller's REGGUARD_* environment removed (so only `env`
 * configures it). Calls run one at a time: each changes the working directory while it runs.
 */
export function runCommand (args: string[], opts: { cwd?: string, env?: Record<string, string> } = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGGUARD_') && v !== undefined) env[k] = v
  const once = async (): Promise<{ code: number, stdout: string, stderr: string }> => {
    let stdout = ''
    let stderr = ''
    const before = process.cwd()
    if (opts.cwd !== undefined) process.chdir(opts.cwd)
    try {
      const code = await run(args, { out: (text) => { stdout += text }, err: (text) => { stderr += text }, env: { ...env, ...opts.env } })
      return { code, stdout, stderr }
    } catch (err) {
      // what the process (src/cli.ts) would print before exiting 3
      return { code: 3, stdout, stderr: stderr + `regguard: ${(err as Error).stack ?? String(err)}\n` }
    } finally {
      process.chdir(before)
    }
  }
  const result = queue.then(once, once)
  queue = result.catch(() => {})
  return result
}
