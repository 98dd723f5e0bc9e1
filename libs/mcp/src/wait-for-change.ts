import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ChangeFilter, ChangeHub, ChangeListener, EntityChange } from './change-hub.js';
import { entityIdInput, entityOutput } from './entity-tools.js';
import { decodePosition, type Entity } from '@flux/client';
import type { FluxPort } from './flux-port.js';
import { runTool, ToolError, toolResult } from './tool-result.js';

/**
 * Longest wait: below the 60 s after which MCP clients (the SDK's default) give up on a
 * request, so a wait ends with an answer rather than a client-side timeout.
 */
export const MAX_WAIT_SECONDS = 50;
export const DEFAULT_WAIT_SECONDS = 25;
/** Waits one MCP session may have running at once (each holds a request open). */
export const MAX_CONCURRENT_WAITS = 8;
/** Entities one answer reports (a prefix can see many change at once); the rest is counted. */
export const MAX_REPORTED_ENTITIES = 50;

export interface WaitContext {
  readonly flux: FluxPort;
  readonly changes: ChangeHub;
}

interface ObservedChange {
  deleted: boolean;
  properties: Record<string, unknown>;
}

interface ReportedChange {
  entity_id: string;
  deleted: boolean;
  changed_properties?: Record<string, unknown>;
  entity: Entity | null;
}

interface WaitOutcome {
  changed: boolean;
  timed_out: boolean;
  changes: ReportedChange[];
  unreported?: number;
}

const waitInput = {
  entity_id: entityIdInput.optional().describe('Wait for a change of this entity (give this or prefix)'),
  prefix: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .describe('Wait for a change of any entity whose id starts with this, e.g. "dawn-coral/tasks/" (give this or entity_id)'),
  timeout_seconds: z
    .number()
    .min(1)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .describe(`How long to wait at most (default ${DEFAULT_WAIT_SECONDS}, at most ${MAX_WAIT_SECONDS})`),
  since_version: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'With entity_id: the version you last saw (0: it did not exist). If the entity is already at another version, the call returns at once, so a change made between your read and this call is not missed',
    ),
};

type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

type WaitArgs = {
  entity_id?: string | undefined;
  prefix?: string | undefined;
  timeout_seconds?: number | undefined;
  since_version?: number | undefined;
};

/** Registers `wait_for_change`; `active` counts the session's running waits. */
export function registerWaitTool(server: McpServer, context: WaitContext): void {
  let active = 0;
  server.registerTool(
    'wait_for_change',
    {
      title: 'Wait for a change',
      description:
        'Blocks until an entity, or any entity under a prefix, changes (a property set or removed, or the entity deleted), or until timeout_seconds pass, ' +
        'then says what changed: for each changed entity its changed_properties (null: removed) and its current state. Use it to coordinate with other agents without polling: ' +
        'read the state, then wait with since_version set to the version you read. A timeout is not an error (timed_out: true); call again to keep waiting. ' +
        `At most ${MAX_CONCURRENT_WAITS} waits may run at once per session.`,
      inputSchema: waitInput,
      outputSchema: {
        changed: z.boolean(),
        timed_out: z.boolean(),
        changes: z.array(
          z.object({
            entity_id: z.string(),
            deleted: z.boolean(),
            changed_properties: z.record(z.string(), z.unknown()).optional().describe('Properties the change set (null: removed)'),
            entity: entityOutput.nullable().describe('Current state; null when the entity does not exist'),
          }),
        ),
        unreported: z.number().optional().describe(`Further changed entities beyond the ${MAX_REPORTED_ENTITIES} reported`),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      runTool(async () => {
        if ((args.entity_id === undefined) === (args.prefix === undefined))
          throw new ToolError('FLUX_VALIDATION', 'give exactly one of entity_id or prefix');
        if (args.since_version !== undefined && args.entity_id === undefined)
          throw new ToolError('FLUX_VALIDATION', 'since_version goes with entity_id');
        if (active >= MAX_CONCURRENT_WAITS) {
          throw new ToolError('FLUX_RATE_LIMITED', `at most ${MAX_CONCURRENT_WAITS} wait_for_change calls may run at once in one session`);
        }
        active += 1;
        try {
          const outcome = await waitForChange(args, context, extra);
          return toolResult(summarise(outcome, args), { ...outcome });
        } finally {
          active -= 1;
        }
      }),
  );
}

function summarise(outcome: WaitOutcome, args: WaitArgs): string {
  if (!outcome.changed) return `No change of ${args.entity_id ?? `${args.prefix}*`} within ${args.timeout_seconds ?? DEFAULT_WAIT_SECONDS} s.`;
  const parts = outcome.changes.map((change) => {
    if (change.entity === null) return `${change.entity_id} deleted`;
    const names = Object.keys(change.changed_properties ?? {});
    return `${change.entity_id} now at version ${change.entity.version}${names.length === 0 ? '' : ` (${names.join(', ')})`}`;
  });
  const more = outcome.unreported === undefined ? '' : `; ${outcome.unreported} more not reported`;
  return `Changed: ${parts.join('; ')}${more}.`;
}

/** The current state of the entities that changed, with the properties the watch saw change. */
async function report(flux: FluxPort, observed: ReadonlyMap<string, ObservedChange>): Promise<ReportedChange[]> {
  return Promise.all(
    [...observed].map(async ([id, change]) => {
      const entity = (await flux.get(id)) ?? null;
      return { entity_id: id, deleted: change.deleted, ...(change.deleted ? {} : { changed_properties: change.properties }), entity };
    }),
  );
}

/** True when the entity is no longer at `version` (0: absent). */
const movedFrom = (entity: Entity | undefined, version: number): boolean => (entity?.version ?? 0) !== version;

async function waitForChange(args: WaitArgs, context: WaitContext, extra: ToolExtra): Promise<WaitOutcome> {
  const requestSignal = extra.signal;
  const { flux, changes } = context;
  const timeoutMs = (args.timeout_seconds ?? DEFAULT_WAIT_SECONDS) * 1000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const until = AbortSignal.any([requestSignal, timeout]);
  const filter: ChangeFilter = args.entity_id === undefined ? { prefix: args.prefix ?? '' } : { entityId: args.entity_id };

  const observed = new Map<string, ObservedChange>();
  let unreported = 0;
  let wake: (reason: 'change' | 'gap') => void = () => undefined;
  let woken = new Promise<'change' | 'gap'>((resolve) => (wake = resolve));
  let collecting = false;
  // An entity wait reads the entity once the watch is open. Changes the watch delivers at or
  // before the position of what that read returned are already in it (they were in flight when
  // the watch opened): they are held back until the read, then dropped.
  let heldBack: EntityChange[] | undefined = args.entity_id === undefined ? undefined : [];
  let readUpTo: { partition: number; offset: number } | undefined;
  const alreadyRead = (change: EntityChange): boolean => {
    if (readUpTo === undefined || change.position === undefined) return false;
    const at = decodePosition(change.position);
    return at !== undefined && at.partition === readUpTo.partition && at.offset <= readUpTo.offset;
  };
  const record = (change: EntityChange): void => {
    if (alreadyRead(change)) return;
    let entry = observed.get(change.entityId);
    if (entry === undefined) {
      if (observed.size >= MAX_REPORTED_ENTITIES) {
        unreported += 1;
        return;
      }
      entry = { deleted: false, properties: {} };
      observed.set(change.entityId, entry);
    }
    if (change.deleted) Object.assign(entry, { deleted: true, properties: {} });
    else if (change.property !== undefined) {
      entry.deleted = false;
      entry.properties[change.property] = change.value;
    }
    // The messages of one event arrive together: gather the rest of them before answering.
    if (!collecting) {
      collecting = true;
      setImmediate(() => wake('change'));
    }
  };
  const listener: ChangeListener = {
    filter,
    onChange: (change) => {
      if (heldBack !== undefined) heldBack.push(change);
      else record(change);
    },
    onGap: () => wake('gap'),
  };

  let stopListening: () => void;
  try {
    stopListening = await changes.listen(listener, until);
  } catch (error) {
    if (requestSignal.aborted) throw error;
    throw new ToolError('FLUX_UNAVAILABLE', `could not follow Flux's changes within ${timeoutMs / 1000} s (is its WebSocket reachable?)`);
  }
  // Tells a client that asked for progress that changes from now on are seen (and resets its request timeout).
  const progressToken = extra._meta?.progressToken;
  if (progressToken !== undefined) {
    await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 0, message: 'waiting for a change' } });
  }
  const stopped = new Promise<'stop'>((resolve) => {
    if (until.aborted) resolve('stop');
    until.addEventListener('abort', () => resolve('stop'), { once: true });
  });
  try {
    // With an entity, its version now tells whether it moved on before the watch was open or during a gap.
    let version = 0;
    if (args.entity_id !== undefined) {
      const current = await flux.get(args.entity_id);
      if (args.since_version !== undefined && movedFrom(current, args.since_version)) {
        return { changed: true, timed_out: false, changes: [{ entity_id: args.entity_id, deleted: current === undefined, entity: current ?? null }] };
      }
      version = current?.version ?? 0;
      readUpTo = current?.position === undefined ? undefined : decodePosition(current.position);
      const early = heldBack ?? [];
      heldBack = undefined;
      for (const change of early) record(change);
    }
    for (;;) {
      const reason = await Promise.race([woken, stopped]);
      if (reason === 'change') {
        const reported = await report(flux, observed);
        return { changed: true, timed_out: false, changes: reported, ...(unreported === 0 ? {} : { unreported }) };
      }
      if (reason === 'stop') {
        if (requestSignal.aborted) throw new ToolError('FLUX_ABORTED', 'the wait was cancelled');
        return { changed: false, timed_out: true, changes: [] };
      }
      // The watch reconnected: what happened meanwhile is unknown, except for an entity's version.
      woken = new Promise<'change' | 'gap'>((resolve) => (wake = resolve));
      if (args.entity_id !== undefined && observed.size === 0) {
        const current = await flux.get(args.entity_id);
        if (movedFrom(current, version)) {
          return {
            changed: true,
            timed_out: false,
            changes: [{ entity_id: args.entity_id, deleted: current === undefined, entity: current ?? null }],
          };
        }
      }
      if (observed.size > 0) wake('change');
    }
  } finally {
    stopListening();
  }
}
