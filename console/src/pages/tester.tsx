import { useEffect, useState } from 'preact/hooks'
import { get, type Check, type Policy } from '../api'
import { errorText } from '../format'

// Asks regguard for its decision on an address, as `regguard policy check` prints it: the same
// canonical form, the same lists, the same invite lookup. Nothing is recorded or sent anywhere.

export function Tester (): preact.JSX.Element {
  const [media, setMedia] = useState<Array<[string, string]>>([['email', 'email'], ['msisdn', 'phone number']])
  const [medium, setMedium] = useState('email')
  const [address, setAddress] = useState('')
  const [answer, setAnswer] = useState<Check | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    // a username field only where regguard has username rules to test against
    get<Policy>('policy').then((p) => { if (p.username !== undefined) setMedia((m) => [...m, ['username', 'username']]) }, () => {})
  }, [])
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setError(null)
    setAnswer(null)
    try { setAnswer(await get<Check>('policy/check', { medium, address })) } catch (err) { setError(errorText(err)) }
  }
  return (
    <>
      <form class="card" onSubmit={(e) => { void submit(e) }} aria-label="Test the policy">
        <label for="test-medium">What to test</label>
        <select id="test-medium" value={medium} onChange={(e) => setMedium((e.target as HTMLSelectElement).value)}>
          {media.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
        </select>
        <label for="test-address">{medium === 'email' ? 'Email address' : medium === 'msisdn' ? 'Phone number (international)' : 'Username'}</label>
        <input id="test-address" required value={address} onInput={(e) => setAddress((e.target as HTMLInputElement).value)} />
        <button type="submit">Check</button>
      </form>
      {error !== null && <p class="error" role="alert" id="test-error">{error}</p>}
      {answer !== null && (
        <section class={`verdict ${answer.allowed ? 'allow' : 'deny'}`} aria-live="polite" id="verdict">
          <h2>{answer.allowed ? 'Allowed' : 'Denied'}</h2>
          <dl class="facts">
            <dt>Address as compared</dt><dd class="addr">{answer.address}</dd>
            <dt>Rule</dt><dd id="verdict-rule">{answer.rule}</dd>
            <dt>Why</dt><dd>{answer.description}</dd>
          </dl>
          <p class="muted"><code>regguard policy check {answer.medium} {answer.address}</code> prints the same.</p>
        </section>
      )}
    </>
  )
}
