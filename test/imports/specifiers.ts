import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// Every module specifier a file of src/ names, read from TypeScript's syntax tree (not with
// regular expressions: a specifier in a comment or a string is no import).

export const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

export type Kind = 'import' | 'export' | 'dynamic' | 'require' | 'type'

export interface Specifier {
  /** the file, relative to src/ */
  file: string
  line: number
  kind: Kind
  /** the specifier's text; null when it is not a string literal (nothing can check it) */
  spec: string | null
  /** import type / export type / every named binding `type`: erased by tsc */
  typeOnly: boolean
}

export function sourceFiles (dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [])
    .sort()
}

const literal = (node: ts.Node | undefined): string | null =>
  node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null

function typeOnlyImport (node: ts.ImportDeclaration): boolean {
  const clause = node.importClause
  if (clause === undefined) return false // import 'x': for its side effects
  if (clause.isTypeOnly) return true
  if (clause.name !== undefined) return false
  const bindings = clause.namedBindings
  return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)
}

const isCreateRequireCall = (node: ts.Expression): boolean =>
  ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'createRequire'

/** The specifiers of one file's text (`file`: its name relative to src/, for the report) */
export function specifiersOf (file: string, text: string): Specifier[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const out: Specifier[] = []
  const add = (node: ts.Node, kind: Kind, spec: string | null, typeOnly: boolean): void => {
    out.push({ file, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, kind, spec, typeOnly })
  }
  // names bound to createRequire(...)'s result, such as `const require = createRequire(import.meta.url)`
  const requires = new Set(['require'])
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined && isCreateRequireCall(node.initializer)) {
      requires.add(node.name.text)
    }
    if (ts.isImportDeclaration(node)) add(node, 'import', literal(node.moduleSpecifier), typeOnlyImport(node))
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) add(node, 'export', literal(node.moduleSpecifier), node.isTypeOnly)
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, 'require', literal(node.moduleReference.expression), node.isTypeOnly)
    else if (ts.isImportTypeNode(node)) add(node, 'type', literal(ts.isLiteralTypeNode(node.argument) ? node.argument.literal : undefined), true)
    else if (ts.isCallExpression(node)) {
      const callee = node.expression
      if (callee.kind === ts.SyntaxKind.ImportKeyword) add(node, 'dynamic', literal(node.arguments[0]), false)
      else if (isCreateRequireCall(callee) || (ts.isIdentifier(callee) && requires.has(callee.text))) add(node, 'require', literal(node.arguments[0]), false)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

/** Every specifier of every file of src/ */
export function srcSpecifiers (): Specifier[] {
  return sourceFiles().flatMap((path) => specifiersOf(relative(SRC, path), readFileSync(path, 'utf8')))
}
