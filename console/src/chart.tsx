import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { Bucket } from './api'

// Decisions per hour over the summary's window, one line per result and rule. uPlot draws on a
// canvas and sets element styles through the CSSOM (which the CSP allows); its stylesheet is
// bundled into app.css, never injected.

const HOUR = 3_600_000
const COLOURS = new Map([
  ['allow', ['#2f6f4f', '#5aa77d', '#8fcfa9', '#1d4532']],
  ['deny', ['#a4262c', '#d9534f', '#f0a09d', '#6b1519']]
])

export interface Series { key: string, result: string, rule: string, values: number[] }

/** Buckets as one row per hour (oldest first) and one series per result/rule seen. */
export function toSeries (buckets: Bucket[], from: number, hours: number): { xs: number[], series: Series[] } {
  const xs = Array.from({ length: hours }, (_, i) => (from + i * HOUR) / 1000)
  const byKey = new Map<string, Series>()
  for (const b of buckets) {
    const key = `${b.result} · ${b.rule}`
    let s = byKey.get(key)
    if (s === undefined) { s = { key, result: b.result, rule: b.rule, values: new Array<number>(hours).fill(0) }; byKey.set(key, s) }
    const i = Math.round((b.hour - from) / HOUR)
    if (i >= 0 && i < hours) s.values[i] = (s.values[i] ?? 0) + b.count
  }
  const series = [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key))
  return { xs, series }
}

export function DecisionChart (props: { xs: number[], series: Series[] }): preact.JSX.Element {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (el === null) return
    const used = new Map<string, number>()
    const colour = (result: string): string => {
      const n = used.get(result) ?? 0
      used.set(result, n + 1)
      const list = COLOURS.get(result) ?? ['#555']
      return list[n % list.length] as string
    }
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height: 260,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { label: 'decisions / hour' }],
      series: [{ label: 'hour' }, ...props.series.map((s) => ({ label: s.key, stroke: colour(s.result), width: 2, points: { show: true } }))]
    }
    const plot = new uPlot(opts, [props.xs, ...props.series.map((s) => s.values)] as uPlot.AlignedData, el)
    const resize = (): void => { plot.setSize({ width: Math.max(320, el.clientWidth), height: 260 }) }
    window.addEventListener('resize', resize)
    return () => { window.removeEventListener('resize', resize); plot.destroy() }
  }, [props.xs, props.series])
  return <div ref={box} class="chart" role="img" aria-label="Decisions per hour by result and rule; the same numbers are in the table below" />
}
