export {
  AdminApi,
  ConnectorsApi,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_PAGE_SIZE,
  DEFAULT_SOURCE,
  DEFAULT_STREAM,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_URL,
  FluxClient,
  NamespacesApi,
  SourcesApi,
  webSocketUrl,
  type BatchOptions,
  type FluxClientOptions,
  type GetOptions,
  type PublishOptions,
  type HistoryOptions,
  type ListOptions,
  type ListPageOptions,
  type EntityPage,
} from './flux-client.js';
export { decodePosition } from './position-cursor.js';
export { ClientErrorCode, FluxError, FluxHttpError, FluxNetworkError, FluxTimeoutError } from './errors.js';
export type { FetchFunction } from './http-transport.js';
export type * from './types.js';
export { backoffDelay, type BackoffOptions, type Watch, type WatchOptions } from './watch.js';
export type {
  ConnectionMessage,
  EntityDeletedMessage,
  EntitySnapshotMessage,
  MetricsUpdateMessage,
  PrefixSubscriptionMessage,
  PrefixWatchMessage,
  ResyncRequiredMessage,
  ServerMessage,
  StateUpdateMessage,
  SubscribedMessage,
  SubscribingMessage,
  SubscriptionErrorMessage,
  WatchMessage,
} from './watch-messages.js';
export type { WebSocketConstructor } from './websocket-loader.js';
