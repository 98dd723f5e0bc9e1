import type { Cluster, Redis } from 'ioredis';

/** A standalone client or a cluster client: every adapter here works with either. */
export type RedisClient = Redis | Cluster;

export type ScriptArgument = string | Buffer | number;

/** A Lua script and the name it is registered under on a client. */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  /** Scripts that only read; ioredis may send them to replicas (EVALSHA_RO). */
  readonly readOnly?: boolean;
}

export type ScriptCaller = (keys: readonly string[], args: readonly ScriptArgument[]) => Promise<unknown>;

/** ioredis flattens an array argument, so a large commit needs no function-call spread. */
type ScriptMethod = (numberOfKeysKeysAndArgs: ScriptArgument[]) => Promise<unknown>;

/**
 * Registers a script on a client with ioredis' `defineCommand` (idempotent per client) and
 * returns a caller. ioredis sends EVALSHA and falls back to EVAL only when the server does not
 * know the script yet (after a restart or failover), so the script text crosses the wire once.
 * Keys are passed per call: every key a script touches is declared, as Redis Cluster requires.
 */
export function defineScript(client: RedisClient, script: LuaScript): ScriptCaller {
  const commands = client as unknown as Record<string, ScriptMethod | undefined>;
  if (typeof commands[script.name] !== 'function') {
    // ioredis' auto-pipelining groups a cluster client's commands by the slot of their first
    // argument, which for a script with a variable key count is the count, not a key: such
    // scripts are sent on their own instead (each still goes to the node of its keys).
    if (client.isCluster && client.options.enableAutoPipelining === true) {
      const ignored = (client.options.autoPipeliningIgnoredCommands ??= []);
      if (!ignored.includes(script.name)) ignored.push(script.name);
    }
    client.defineCommand(script.name, { lua: script.lua, ...(script.readOnly === true ? { readOnly: true } : {}) });
  }
  const method = commands[script.name]!;
  return (keys, args) => method.call(client, [keys.length, ...keys, ...args]);
}
