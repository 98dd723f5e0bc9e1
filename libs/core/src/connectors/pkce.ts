import { createHash, randomBytes } from 'node:crypto';

/** A PKCE pair (RFC 7636, method S256). */
export interface PkcePair {
  readonly verifier: string;
  readonly challenge: string;
}

/** The S256 challenge of a verifier: base64url(SHA-256(verifier)). */
export const pkceChallenge = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url');

/** 32 random bytes give a 43-character verifier, the shortest RFC 7636 allows. */
export function createPkcePair(): PkcePair {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier) };
}

/** 24 random bytes: a 32-character base64url `state`. */
export const createOAuthState = (): string => randomBytes(24).toString('base64url');

/** The shape of every state Flux issues; anything else is refused before a store lookup. */
export const OAUTH_STATE_PATTERN = /^[A-Za-z0-9_-]{32}$/;
