import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'

// What the numbers were measured on, printed with every run.

export function cpuModel (): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m !== null) return (m[1] as string).trim()
  } catch {}
  return cpus()[0]?.model ?? 'unknown'
}

export function loadAverage (): string {
  return loadavg().map((n) => n.toFixed(2)).join(', ')
}

export function machineLines (nginx: string): string[] {
  return [
    `cpu: ${cpuModel()}, ${cpus().length} cores`,
    `node: ${process.version}`,
    `nginx: ${nginx}`,
    `load average (1, 5, 15 min) at start: ${loadAverage()}`
  ]
}
