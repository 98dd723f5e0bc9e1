import { ErrorCode, FluxError, isSystemEntity, namespaceOf } from '@flux/domain';
import type { ControlStore } from '../ports/control-store.js';
import { bearerToken, hashToken, secretsEqual } from './tokens.js';

/** Who is calling. In internal mode everyone is `open`. */
export type Principal =
  | { readonly kind: 'open' }
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'admin' }
  | { readonly kind: 'namespace'; readonly namespace: string };

export interface AuthorizerOptions {
  readonly authEnabled: boolean;
  readonly adminToken: string | undefined;
  readonly control: ControlStore;
}

const unauthorized = (message: string) => new FluxError(ErrorCode.Unauthorized, message);
const forbidden = (message: string) => new FluxError(ErrorCode.Forbidden, message);

/**
 * The access rules of the contract's section 7, in one place, for every transport and
 * every gateway.
 */
export class Authorizer {
  readonly authEnabled: boolean;
  private readonly adminToken: string | undefined;
  private readonly control: ControlStore;

  constructor(options: AuthorizerOptions) {
    this.authEnabled = options.authEnabled;
    this.adminToken = options.adminToken;
    this.control = options.control;
  }

  /** Resolves the caller; an Authorization header that is malformed or names no token is a 401. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!this.authEnabled) return { kind: 'open' };
    if (authorization === undefined || authorization.trim() === '') return { kind: 'anonymous' };
    const token = bearerToken(authorization);
    if (token === undefined) throw unauthorized('malformed Authorization header: expected "Bearer <token>"');
    if (this.adminToken !== undefined && secretsEqual(token, this.adminToken)) return { kind: 'admin' };
    const namespace = await this.control.findNamespaceByTokenHash(hashToken(token));
    if (namespace === undefined) throw unauthorized('invalid token');
    return { kind: 'namespace', namespace: namespace.name };
  }

  /** Resolves the namespace a caller writes as; in public mode a namespace token is required. */
  requireNamespace(principal: Principal): string | undefined {
    switch (principal.kind) {
      case 'open':
        return undefined;
      case 'namespace':
        return principal.namespace;
      case 'admin':
        throw unauthorized('the admin token is not a namespace token; use the token of the namespace');
      case 'anonymous':
        throw unauthorized('missing bearer token: send Authorization: Bearer <namespace token>');
    }
  }

  /** Checks that `principal` may write `entityId`; throws 400/401/403 FluxErrors. */
  authorizeWrite(principal: Principal, entityId: string): void {
    if (isSystemEntity(entityId)) throw forbidden(`${entityId} is a read-only system entity`);
    const own = this.requireNamespace(principal);
    if (own === undefined) return;
    const target = namespaceOf(entityId);
    if (target === undefined || entityId.length === target.length + 1) {
      throw new FluxError(ErrorCode.Validation, `entity_id must be "<namespace>/<name>" in public mode (got "${entityId}")`);
    }
    if (target !== own) throw forbidden(`token of namespace "${own}" cannot write to namespace "${target}"`);
  }

  /**
   * Admin operations: need the admin token when one is configured; without one they are
   * open in internal mode and refused in public mode.
   */
  authorizeAdmin(authorization: string | undefined): void {
    if (this.adminToken === undefined) {
      if (this.authEnabled) {
        throw forbidden('admin operations are disabled: set FLUX_ADMIN_TOKEN to enable them on a public instance');
      }
      return;
    }
    const token = bearerToken(authorization);
    if (token === undefined) throw unauthorized('admin token required: send Authorization: Bearer <FLUX_ADMIN_TOKEN>');
    if (!secretsEqual(token, this.adminToken)) throw unauthorized('invalid admin token');
  }
}

/** The start-up warning of a public instance without an admin token, or undefined when there is nothing to warn about. */
export function adminTokenWarning(settings: { readonly authEnabled: boolean; readonly adminToken: string | undefined }): string | undefined {
  return settings.authEnabled && settings.adminToken === undefined
    ? 'public mode without FLUX_ADMIN_TOKEN: namespace registration and config changes are refused until one is set'
    : undefined;
}
