import type { Logger } from 'pino';
import { applyRuntimeConfigUpdate, limitsBelowFloor, parseRuntimeConfigUpdate, type RuntimeConfig } from '@flux/domain';
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
    private readonly logger: Logger | undefined,
  ) {
    this.config = initial;
    this.stopWatching = control.watchRuntimeConfig((config) => this.adopt(config));
  }

  /**
   * Loads the persisted config, persisting `initial` when there is none yet. Limits below their
   * floor (written by an older version, which accepted them and thereby locked its admin out)
   * are raised to it and persisted, so a restart recovers such an instance.
   */
  static async load(control: ControlStore, initial: RuntimeConfig, logger?: Logger): Promise<RuntimeConfigService> {
    const persisted = await control.getRuntimeConfig();
    const loaded = raiseToFloors(persisted ?? initial, logger);
    if (persisted === undefined || loaded !== persisted) await control.putRuntimeConfig(loaded);
    return new RuntimeConfigService(control, loaded, logger);
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
    this.config = raiseToFloors(config, this.logger);
    for (const listener of this.listeners) listener(this.config);
  }
}

/** `config` with every limit below its floor raised to it (the same object when none is). */
function raiseToFloors(config: RuntimeConfig, logger: Logger | undefined): RuntimeConfig {
  const raised = limitsBelowFloor(config);
  if (Object.keys(raised).length === 0) return config;
  logger?.warn({ stored: config, raised }, 'runtime config limits below their floor raised to it');
  return { ...config, ...raised };
}
