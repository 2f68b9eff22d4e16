import t from 'tap'
import { openStore } from '../../src/store/open.js'
import { BACKENDS, openTestStore, storageUrl } from './backends.js'

// store.secret: made once, kept, the same for every instance, even when they ask at once.

for (const backend of BACKENDS) {
  t.test(`${backend}: a secret is made once and kept across reopening`, async (t) => {
    const url = storageUrl(t, backend)
    const first = await openStore(url)
    let made = 0
    const make = (): string => `value-${++made}`
    t.equal(await first.secret('k', make), 'value-1')
    t.equal(await first.secret('k', make), 'value-1', 'asked again: the stored one')
    t.equal(await first.secret('other', make), 'value-2', 'names are separate')
    await first.close()
    const second = await openStore(url)
    t.teardown(() => second.close())
    t.equal(await second.secret('k', make), 'value-1', 'kept across a restart')
    t.equal(made, 2, 'never made again')
  })

  t.test(`${backend}: instances asking at once agree on one value`, async (t) => {
    const url = storageUrl(t, backend)
    // opened one after the other: a new SQLite file migrated by two at once is another matter
    const stores = [await openTestStore(t, backend, url), await openTestStore(t, backend, url), await openTestStore(t, backend, url)]
    const values = await Promise.all(stores.flatMap((s, i) => [0, 1, 2].map((j) => s.secret('shared', () => `from-${i}-${j}`))))
    t.equal(new Set(values).size, 1, `one value: ${values.join(', ')}`)
  })
}
