import { existsSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import t from 'tap'
import { SRC, srcSpecifiers, type Specifier } from './specifiers.js'

// No import cycles among src/'s files: in a cycle, whichever file node evaluates first sees the
// others' bindings uninitialised, and which one that is depends on who imported the cycle first.
// The graph has an edge for every relative specifier (`./x.js` is the file `./x.ts`), static or
// dynamic (a dynamic import evaluates the file too). Type-only imports (`import type`, `export
// type`, `typeof import(...)`, named bindings all marked `type`) are left out: tsc erases them,
// so they never make node evaluate anything.

type Graph = Map<string, Set<string>>

export function graphOf (specifiers: readonly Specifier[], exists: (file: string) => boolean = (f) => existsSync(join(SRC, f))): { graph: Graph, unresolved: string[] } {
  const graph: Graph = new Map()
  const unresolved: string[] = []
  for (const s of specifiers) {
    if (!graph.has(s.file)) graph.set(s.file, new Set())
    if (s.typeOnly || s.spec === null || !s.spec.startsWith('.')) continue
    const target = normalize(join(dirname(s.file), s.spec.replace(/\.js$/, '.ts')))
    if (!exists(target)) { unresolved.push(`src/${s.file}:${s.line}: ${s.spec}`); continue }
    graph.get(s.file)?.add(target)
  }
  return { graph, unresolved }
}

/** Each cycle once, as the files along it (Tarjan's strongly connected components of two or more, or a file importing itself) */
export function cyclesOf (graph: Graph): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  let next = 0
  const connect = (v: string): void => {
    index.set(v, next); low.set(v, next); next++
    stack.push(v); onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { connect(w); low.set(v, Math.min(low.get(v) as number, low.get(w) as number)) } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    let w: string
    do { w = stack.pop() as string; onStack.delete(w); component.push(w) } while (w !== v)
    if (component.length > 1 || graph.get(v)?.has(v) === true) out.push(component.sort())
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v)
  return out
}

t.test('no import cycle among src/\'s files', async (t) => {
  const specifiers = srcSpecifiers()
  const { graph, unresolved } = graphOf(specifiers)
  t.ok(graph.size > 50, `files read (${graph.size})`)
  t.same(unresolved, [], 'every relative specifier names a file of src/')
  t.same(cyclesOf(graph).map((c) => c.join(' <-> ')), [], 'files that import each other, directly or through others')
})

t.test('the check finds a cycle, direct, longer or through a dynamic import, and not through a type', async (t) => {
  const spec = (file: string, target: string, typeOnly = false): Specifier => ({ file, line: 1, kind: 'import', spec: target, typeOnly })
  const cycles = (specs: Specifier[]): string[][] => cyclesOf(graphOf(specs, () => true).graph)
  t.same(cycles([spec('a.ts', './b.js'), spec('b.ts', './a.js')]), [['a.ts', 'b.ts']])
  t.same(cycles([spec('a.ts', './x/b.js'), spec('x/b.ts', '../c.js'), spec('c.ts', './a.js'), spec('c.ts', './d.js')]), [['a.ts', 'c.ts', 'x/b.ts']])
  t.same(cycles([spec('a.ts', './a.js')]), [['a.ts']], 'a file importing itself')
  t.same(cycles([spec('a.ts', './b.js'), { ...spec('b.ts', './a.js'), kind: 'dynamic' }]), [['a.ts', 'b.ts']], 'a dynamic import is an edge')
  t.same(cycles([spec('a.ts', './b.js'), spec('b.ts', './a.js', true)]), [], 'a type-only import is not')
  t.same(cycles([spec('a.ts', './b.js'), spec('b.ts', './c.js'), spec('a.ts', './c.js')]), [], 'a diamond is no cycle')
})
