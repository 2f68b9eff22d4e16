import { useEffect, useState } from 'preact/hooks'

// The time range picker and the auto-refresh switch, shared by the Overview and the Decisions.

export const RANGES = [
  { hours: 1, label: '1 hour' },
  { hours: 24, label: '24 hours' },
  { hours: 24 * 7, label: '7 days' },
  { hours: 24 * 30, label: '30 days' }
]

export function RangePicker (props: { hours: number, onChange: (hours: number) => void }): preact.JSX.Element {
  return (
    <label>Range
      <select name="range" value={String(props.hours)} onChange={(e) => { props.onChange(Number((e.target as HTMLSelectElement).value)) }}>
        {RANGES.map((r) => <option key={r.hours} value={String(r.hours)}>last {r.label}</option>)}
      </select>
    </label>
  )
}

/** A checkbox: while on, `onTick` runs every `seconds` (and not while the tab is hidden). */
export function AutoRefresh (props: { onTick: () => void, seconds?: number }): preact.JSX.Element {
  const [on, setOn] = useState(false)
  const seconds = props.seconds ?? 30
  useEffect(() => {
    if (!on) return
    const timer = setInterval(() => { if (document.visibilityState === 'visible') props.onTick() }, seconds * 1000)
    return () => { clearInterval(timer) }
  }, [on, props.onTick, seconds])
  return (
    <label class="inline">
      <input type="checkbox" name="auto-refresh" checked={on} onChange={(e) => { setOn((e.target as HTMLInputElement).checked) }} />
      {` every ${seconds} s`}
    </label>
  )
}
