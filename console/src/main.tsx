import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { ApiError, call, forgetToken, savedToken, saveToken, whenUnauthorized, API } from './api'
import { Decisions } from './pages/decisions'
import { Invites } from './pages/invites'
import { AccessRequests } from './pages/access-requests'
import { Lists } from './pages/lists'
import { Overview } from './pages/overview'
import { Tester } from './pages/tester'
import './style.css'

// The console's shell: sign-in, navigation (the URL's hash names the page, so the browser's
// back button and bookmarks work), and the page itself.

const PAGES = [
  { id: 'overview', title: 'Overview', view: Overview },
  { id: 'decisions', title: 'Decisions', view: Decisions },
  { id: 'invites', title: 'Invites', view: Invites },
  { id: 'access-requests', title: 'Access requests', view: AccessRequests },
  { id: 'tester', title: 'Policy tester', view: Tester },
  { id: 'lists', title: 'Lists', view: Lists }
] as const

function pageFromHash (): string {
  const id = location.hash.replace(/^#\/?/, '')
  return PAGES.some((p) => p.id === id) ? id : 'overview'
}

function SignIn (props: { onSignedIn: () => void, notice: string | null }): preact.JSX.Element {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      // any authenticated call proves the token; the policy is small
      await call('GET', `${API}/policy`, { token: token.trim() })
      saveToken(token.trim())
      props.onSignedIn()
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError('That token is not the admin token (admin.token).')
      else if (err instanceof ApiError && err.unsupported) setError('The admin API is off: set admin.token in the configuration and reload.')
      else setError(`Could not sign in: ${err instanceof Error ? err.message : String(err)}`)
    } finally { setBusy(false) }
  }
  return (
    <main class="signin">
      <h1>regguard console</h1>
      <form onSubmit={(e) => { void submit(e) }} aria-describedby="signin-help">
        <p id="signin-help">Sign in with the admin token (<code>admin.token</code>). It is kept in this browser tab only and sent with each request; closing the tab forgets it.</p>
        {props.notice !== null && <p class="notice" role="status">{props.notice}</p>}
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy || token.trim() === ''}>Sign in</button>
        {error !== null && <p class="error" role="alert" id="signin-error">{error}</p>}
      </form>
    </main>
  )
}

function App (): preact.JSX.Element {
  const [signedIn, setSignedIn] = useState(savedToken() !== null)
  const [notice, setNotice] = useState<string | null>(null)
  const [page, setPage] = useState(pageFromHash())
  useEffect(() => {
    const onHash = (): void => setPage(pageFromHash())
    window.addEventListener('hashchange', onHash)
    whenUnauthorized(() => { forgetToken(); setNotice('The admin token was refused (changed?): sign in again.'); setSignedIn(false) })
    return () => window.removeEventListener('hashchange', onHash)
  }, [])
  useEffect(() => {
    const p = PAGES.find((x) => x.id === page)
    document.title = `${p?.title ?? ''} · regguard console`
  }, [page])
  if (!signedIn) return <SignIn notice={notice} onSignedIn={() => { setNotice(null); setSignedIn(true) }} />
  const current = PAGES.find((p) => p.id === page) ?? PAGES[0]
  const View = current.view
  return (
    <div class="shell">
      <a class="skip" href="#content">Skip to content</a>
      <header>
        <span class="brand">regguard</span>
        <nav aria-label="Console pages">
          <ul>
            {PAGES.map((p) => <li key={p.id}><a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>{p.title}</a></li>)}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={() => { forgetToken(); setSignedIn(false) }}>Sign out</button>
      </header>
      <main id="content" tabIndex={-1}>
        <h1>{current.title}</h1>
        <View />
      </main>
    </div>
  )
}

render(<App />, document.getElementById('app') as HTMLElement)
