/**
 * Tokens typed into the page. They live in memory, and in this tab's sessionStorage only when
 * the user asks to keep them; never in localStorage or a cookie.
 */
export type TokenKind = 'namespace' | 'admin';

const storageKey = (kind: TokenKind): string => `flux.dashboard.${kind}-token`;
const inMemory = new Map<TokenKind, string>();

function session(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined; // storage disabled: memory only
  }
}

export function readToken(kind: TokenKind): string {
  return inMemory.get(kind) ?? session()?.getItem(storageKey(kind)) ?? '';
}

export function isTokenKept(kind: TokenKind): boolean {
  return session()?.getItem(storageKey(kind)) != null;
}

export function writeToken(kind: TokenKind, token: string, keep: boolean): void {
  inMemory.set(kind, token);
  const storage = session();
  if (keep && token !== '') storage?.setItem(storageKey(kind), token);
  else storage?.removeItem(storageKey(kind));
}
