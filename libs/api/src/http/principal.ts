import type { FastifyRequest } from 'fastify';
import type { Principal } from '@flux/core';
import type { SystemDeps } from '../api-deps.js';

/** The caller of a write: in public mode a namespace token is required before anything else. */
export async function writerOf(deps: SystemDeps, request: FastifyRequest): Promise<Principal> {
  const principal = await deps.authorizer.authenticate(request.headers.authorization);
  deps.authorizer.requireNamespace(principal);
  return principal;
}

/** Owner of connector credentials: the caller's namespace in public mode, '' in internal mode. */
export async function credentialOwnerOf(deps: SystemDeps, request: FastifyRequest): Promise<string> {
  return deps.authorizer.requireNamespace(await deps.authorizer.authenticate(request.headers.authorization)) ?? '';
}
