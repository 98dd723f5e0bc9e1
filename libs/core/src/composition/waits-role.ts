import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { AppliedPositions, type AppliedPositionsOptions } from '../positions/applied-positions.js';
import type { ClosingOrder } from './closing-order.js';

export interface WaitsOptions extends Omit<AppliedPositionsOptions, 'maxWaiting' | 'logger'> {
  readonly settings: Settings;
  readonly logger: Logger;
}

/**
 * What the reducers applied, for the requests of this process that wait for it (wait=applied,
 * conditional writes, min_position): bounded by the settings, closed with the process.
 */
export function composeWaits(options: WaitsOptions, closing: ClosingOrder): AppliedPositions {
  const { settings, logger, ...rest } = options;
  const applied = new AppliedPositions({ ...rest, maxWaiting: settings.wait.maxWaiting, logger: logger.child({ component: 'waits' }) });
  closing.add('waits', () => applied.close());
  return applied;
}
