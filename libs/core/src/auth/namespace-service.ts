import { v7 as uuidv7 } from 'uuid';
import { ErrorCode, FluxError, isReservedNamespace, namespaceNameProblem, type Namespace } from '@flux/domain';
import type { ControlStore } from '../ports/control-store.js';
import type { StateReader } from '../ports/state-store.js';
import { generateToken, hashToken } from './tokens.js';

export interface RegisteredNamespace {
  readonly namespaceId: string;
  readonly name: string;
  /** Shown once, at registration; only its hash is stored. */
  readonly token: string;
}

export interface NamespaceInfo extends Namespace {
  readonly entityCount: number;
}

/** Appends a tombstone for every entity of a namespace; resolves once all are in the log. */
export type NamespaceEntityPurge = (namespace: string) => Promise<void>;

export class NamespaceService {
  constructor(
    private readonly control: ControlStore,
    private readonly reader: StateReader,
    private readonly now: () => number = Date.now,
    private readonly purgeEntities?: NamespaceEntityPurge,
  ) {}

  async register(name: unknown): Promise<RegisteredNamespace> {
    const problem = namespaceNameProblem(name);
    if (problem !== undefined) throw new FluxError(ErrorCode.Validation, problem);
    const valid = name as string;
    if (isReservedNamespace(valid)) throw new FluxError(ErrorCode.Conflict, `namespace "${valid}" is reserved`);
    const token = generateToken();
    const record = { namespaceId: uuidv7(), name: valid, createdAt: this.now(), tokenHash: hashToken(token) };
    if (!(await this.control.createNamespace(record))) {
      throw new FluxError(ErrorCode.Conflict, `namespace "${valid}" already exists`);
    }
    return { namespaceId: record.namespaceId, name: valid, token };
  }

  async get(name: string): Promise<NamespaceInfo> {
    const record = await this.control.getNamespace(name);
    if (record === undefined) throw new FluxError(ErrorCode.NotFound, `namespace "${name}" not found`);
    const counts = await this.reader.counts();
    return {
      namespaceId: record.namespaceId,
      name: record.name,
      createdAt: record.createdAt,
      // Own properties only: a namespace may be called `constructor`.
      entityCount: Object.hasOwn(counts.byNamespace, name) ? (counts.byNamespace[name] ?? 0) : 0,
    };
  }

  /**
   * Deletes a namespace and its entities. The token stops working first, so no new writes
   * arrive; then every entity gets a tombstone, before the caller hears 204. Whoever registers
   * the name afterwards starts empty: their events follow the tombstones in each entity's log,
   * and the sources and connector credentials of the old namespace are gone.
   */
  async delete(name: string): Promise<void> {
    if (!(await this.control.deleteNamespace(name))) {
      throw new FluxError(ErrorCode.NotFound, `namespace "${name}" not found`);
    }
    for (const source of await this.control.listSources(name)) await this.control.deleteSource(name, source.id);
    for (const credential of await this.control.listCredentials()) {
      if (credential.owner === name) await this.control.deleteCredential(name, credential.connector);
    }
    await this.purgeEntities?.(name);
  }

  async names(): Promise<string[]> {
    return (await this.control.listNamespaces()).map((record) => record.name);
  }
}
