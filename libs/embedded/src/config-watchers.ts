import type { RuntimeConfig } from '@flux/domain';
import { ListenerSet, warnListenerError, type ListenerErrorHandler } from '@flux/core';

/**
 * Runtime-config watchers of every control store instance in this process, per data
 * directory, so a write through any instance reaches the watchers of all of them (the
 * embedded deployment is one process; LMDB itself has no change notification).
 */
const watchersByPath = new Map<string, ListenerSet<RuntimeConfig>>();

export function watchConfig(path: string, listener: (config: RuntimeConfig) => void, onError: ListenerErrorHandler = warnListenerError): () => void {
  let watchers = watchersByPath.get(path);
  if (watchers === undefined) {
    watchers = new ListenerSet<RuntimeConfig>();
    watchersByPath.set(path, watchers);
  }
  const set = watchers;
  // Each watcher reports its own failures to the handler of the instance it subscribed on.
  const remove = set.add((config) => {
    try {
      listener(config);
    } catch (error) {
      onError(error);
    }
  });
  return () => {
    remove();
    // Forget directories nobody watches any more, so temporary stores leave nothing behind.
    if (set.size === 0 && watchersByPath.get(path) === set) watchersByPath.delete(path);
  };
}

export function notifyConfigWritten(path: string, config: RuntimeConfig): void {
  watchersByPath.get(path)?.emit(config);
}
