/**
 * Where a server's CPU went: a V8 `.cpuprofile` (written by `--cpu-prof`, e.g. through
 * `npm run bench -- --node-args=…`) summarised by part of Flux, so that profiles of two commits
 * can be compared in a few lines instead of two flame graphs.
 */

export interface CpuProfileFrame {
  readonly functionName: string;
  readonly url: string;
  /** Where the function starts, from 0 (-1 or absent for native frames). */
  readonly lineNumber?: number;
  readonly columnNumber?: number;
}

/** The subset of V8's profile format this summary reads. */
export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CpuProfileFrame; readonly children?: readonly number[] }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface CpuProfilePart {
  readonly name: string;
  /** Idle time and start-up are reported, but left out of the busy total. */
  readonly busy: boolean;
  /** Whether a sample belongs here, given its stack from the sampled frame to the root. */
  matches(stack: readonly CpuProfileFrame[]): boolean;
}

export interface CpuShare {
  readonly part: string;
  readonly ms: number;
  /** Share of every sample, idle included. */
  readonly ofAll: number;
  /** Share of the busy samples; undefined for a part that is not busy time. */
  readonly ofBusy: number | undefined;
}

const inFile = (pattern: RegExp) => (stack: readonly CpuProfileFrame[]) => stack.some((frame) => pattern.test(frame.url));
const sampled = (name: string) => (stack: readonly CpuProfileFrame[]) => stack[0]?.functionName === name;

/**
 * The parts of the embedded server, first match wins: a sample under the state store's
 * transaction counts as state store even though the reducer scheduled it.
 */
const FLUX_PARTS: readonly CpuProfilePart[] = [
  { name: 'idle', busy: false, matches: sampled('(idle)') },
  { name: 'start-up (module loading)', busy: false, matches: inFile(/node:internal\/modules\/|\/tsx\/dist\//) },
  { name: 'garbage collection', busy: true, matches: sampled('(garbage collector)') },
  { name: 'state store (LMDB: commits of history, entities, counts; entity reads)', busy: true, matches: inFile(/lmdb-state-store\.ts$/) },
  { name: 'reducers (decode, merge, change records)', busy: true, matches: inFile(/(partition-reducer|log-tail-subscription)\.ts$/) },
  { name: 'log append (LMDB chunk write)', busy: true, matches: inFile(/lmdb-event-log\.ts$/) },
  { name: 'ingest (validation, ids, partitioning)', busy: true, matches: inFile(/(ingest-service|event-appender)\.ts$/) },
  { name: 'WebSocket fan-out', busy: true, matches: inFile(/websocket-hub\.ts$/) },
  { name: 'HTTP body parsing', busy: true, matches: inFile(/body-parser\.ts$/) },
  { name: 'CORS headers (@fastify/cors)', busy: true, matches: inFile(/\/@fastify\/cors\//) },
  { name: 'HTTP metrics (prom-client)', busy: true, matches: inFile(/\/prom-client\//) },
  { name: 'LMDB outside our transactions (starting writes, commit callbacks, reads)', busy: true, matches: inFile(/\/node_modules\/lmdb\//) },
  { name: 'native code V8 does not attribute ("(program)")', busy: true, matches: sampled('(program)') },
  { name: 'HTTP (Fastify, sockets) and the rest', busy: true, matches: () => true },
];

/** Time per part of FLUX_PARTS, in its order. */
export function summariseCpuProfile(profile: CpuProfile): CpuShare[] {
  const parts = FLUX_PARTS;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const microsByNode = new Map<number, number>();
  // timeDeltas[i] is the gap before sample i: a sample stands for the time until the next one
  // (as DevTools counts it); the last, which has no next, for the gap before it.
  const { samples, timeDeltas } = profile;
  samples.forEach((id, index) => {
    const gap = timeDeltas[index + 1] ?? timeDeltas[index] ?? 0;
    microsByNode.set(id, (microsByNode.get(id) ?? 0) + gap);
  });

  const micros = new Array<number>(parts.length).fill(0);
  for (const [id, time] of microsByNode) {
    const stack: CpuProfileFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const node = byId.get(at);
      if (node !== undefined) stack.push(node.callFrame);
    }
    const index = parts.findIndex((part) => part.matches(stack));
    if (index >= 0) micros[index]! += time;
  }
  const all = micros.reduce((sum, time) => sum + time, 0);
  const busy = micros.reduce((sum, time, index) => sum + (parts[index]!.busy ? time : 0), 0);
  return parts.map((part, index) => ({
    part: part.name,
    ms: micros[index]! / 1000,
    ofAll: all === 0 ? 0 : micros[index]! / all,
    ofBusy: part.busy ? (busy === 0 ? 0 : micros[index]! / busy) : undefined,
  }));
}
