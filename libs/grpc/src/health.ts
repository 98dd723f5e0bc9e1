import { status as GrpcStatus, type ServerWritableStream } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from './generated/grpc/health/v1/health.js';

export { ServingStatus };

/** The List RPC's limit from health.proto. */
const LIST_MAX_SERVICES = 100;

/**
 * `grpc.health.v1.Health` over a table of service names and their status. The empty name is
 * the server as a whole. Watch streams get the current status at once and every change after.
 */
export class HealthStatusBoard {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>>();

  constructor(services: readonly string[], initial: ServingStatus = ServingStatus.NOT_SERVING) {
    for (const service of services) this.statuses.set(service, initial);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Sets the status of one service (adding it when unknown) and tells its watchers. */
  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const watcher of this.watchers.get(service) ?? []) watcher.write({ status });
  }

  /** Sets every known service to `status`. */
  setAll(status: ServingStatus): void {
    for (const service of [...this.statuses.keys()]) this.set(service, status);
  }

  /** Ends every Watch stream (OK status: health.proto tells clients to reconnect with backoff). */
  endWatches(): void {
    for (const set of this.watchers.values()) for (const watcher of set) watcher.end();
    this.watchers.clear();
  }

  readonly implementation: HealthServer = {
    check: (call, callback) => {
      const status = this.statuses.get(call.request.service);
      if (status === undefined) {
        callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
      } else {
        callback(null, { status });
      }
    },
    list: (_call, callback) => {
      if (this.statuses.size > LIST_MAX_SERVICES) {
        callback({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: `more than ${LIST_MAX_SERVICES} services` });
        return;
      }
      callback(null, { statuses: new Map([...this.statuses].map(([service, status]) => [service, { status }])) });
    },
    watch: (call) => {
      const service = call.request.service;
      let set = this.watchers.get(service);
      if (set === undefined) this.watchers.set(service, (set = new Set()));
      const watchers = set;
      watchers.add(call);
      const forget = (): void => {
        watchers.delete(call);
        if (watchers.size === 0 && this.watchers.get(service) === watchers) this.watchers.delete(service);
      };
      call.on('cancelled', forget);
      call.on('close', forget);
      call.write({ status: this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN });
    },
  };
}
