import type { Logger } from 'pino';
import { adminTokenWarning, Authorizer } from '../auth/authorizer.js';
import type { Settings } from '../config/settings.js';
import type { ControlStore } from '../ports/control-store.js';
import { RuntimeConfigService } from '../runtime/runtime-config-service.js';
import type { ClosingOrder } from './closing-order.js';

/** What every role that answers HTTP needs: who may do what, and the runtime config. */
export interface GatewayServices {
  readonly authorizer: Authorizer;
  readonly runtimeConfig: RuntimeConfigService;
}

export async function composeGatewayServices(
  settings: Settings,
  control: ControlStore,
  logger: Logger,
  closing: ClosingOrder,
): Promise<GatewayServices> {
  const warning = adminTokenWarning(settings);
  if (warning !== undefined) logger.warn(warning);
  const authorizer = new Authorizer({ authEnabled: settings.authEnabled, adminToken: settings.adminToken, control });
  const runtimeConfig = await RuntimeConfigService.load(control, settings.initialRuntimeConfig, logger);
  closing.add('runtime config', () => runtimeConfig.close());
  return { authorizer, runtimeConfig };
}
