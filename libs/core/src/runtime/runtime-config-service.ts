import {
  applyRuntimeConfigUpdate,
  parseRuntimeConfigUpdate,
  type RuntimeConfig,
} from '@flux/domain';
import type { ControlStore, Unsubscribe } from '../ports/control-store.js';

/**
 * The live runtime config of this process. Reads are synchronous (they sit on every
 * request); writes go to the shared control store, and every instance picks them up
 * through its watch.
 */
export class RuntimeConfigService {
  private config: RuntimeConfig;
  private readonly stopWatching: Unsubscribe;
  private readonly listeners = new Set<(config: RuntimeConfig) => void>();

  private constructor(
    private readonly control: ControlStore,
    initial: RuntimeConfig,
  ) {
    this.config = initial;
    this.stopWatching = control.watchRuntimeConfig((config) => this.adopt(config));
  }

  /** Loads the persisted config, persisting `initial` when there is none yet. */
  static async load(control: ControlStore, initial: RuntimeConfig): Promise<RuntimeConfigService> {
    const persisted = await control.getRuntimeConfig();
    if (persisted === undefined) await control.putRuntimeConfig(initial);
    return new RuntimeConfigService(control, persisted ?? initial);
  }

  get current(): RuntimeConfig {
    return this.config;
  }

  /** Validates and applies a partial update; resolves the full new config. */
  async update(input: unknown): Promise<RuntimeConfig> {
    const update = parseRuntimeConfigUpdate(input);
    let next: RuntimeConfig;
    if (this.control.updateRuntimeConfig !== undefined) {
      next = await this.control.updateRuntimeConfig(update, this.config);
    } else {
      next = applyRuntimeConfigUpdate(this.config, update);
      await this.control.putRuntimeConfig(next);
    }
    this.adopt(next);
    return next;
  }

  onChange(listener: (config: RuntimeConfig) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.stopWatching();
  }

  private adopt(config: RuntimeConfig): void {
    this.config = config;
    for (const listener of this.listeners) listener(config);
  }
}
