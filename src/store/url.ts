// What a storage.url names, without loading either database driver.

/** The URL fit for messages: a password in it is replaced. */
export function redactStorageUrl (url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/, '$1***@')
}

export function storageKind (url: string): 'sqlite' | 'postgres' | null {
  if (url.startsWith('sqlite://')) return 'sqlite'
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres'
  return null
}
