/**
 * Reads memory and CPU figures of server processes from /proc (Linux only), so the harness
 * measures the process that serves, not a wrapper, and sees every process of a deployment.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessMemory {
  readonly pid: number;
  readonly name: string;
  /** VmRSS: resident set size now. */
  readonly rssBytes: number;
  /** VmHWM: the highest resident set size the process has had. */
  readonly peakRssBytes: number;
  /** RssAnon: the heap and other private memory. */
  readonly anonRssBytes: number;
  /** RssFile: resident pages of mapped files (an LMDB map counts here, and the kernel can drop them). */
  readonly fileRssBytes: number;
}

/** Value of a `Name:   1234 kB` line of /proc/<pid>/status, in bytes. */
export function statusFieldBytes(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

export function processMemory(pid: number): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  return {
    pid,
    name: processLabel(pid) ?? /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
    rssBytes: statusFieldBytes(status, 'VmRSS') ?? 0,
    peakRssBytes: statusFieldBytes(status, 'VmHWM') ?? 0,
    anonRssBytes: statusFieldBytes(status, 'RssAnon') ?? 0,
    fileRssBytes: statusFieldBytes(status, 'RssFile') ?? 0,
  };
}

/** `apps/reducer/src/main.ts` → `reducer`: the script a node process runs names it best. */
export function labelFromArgs(args: readonly string[]): string | undefined {
  const script = [...args].reverse().find((arg) => arg.endsWith('.ts') || arg.endsWith('.js'));
  if (script === undefined) return undefined;
  const app = /apps\/([^/]+)\/src\//.exec(script)?.[1];
  return (
    app ??
    script
      .split('/')
      .pop()
      ?.replace(/\.[tj]s$/, '')
  );
}

function processLabel(pid: number): string | undefined {
  try {
    return labelFromArgs(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
  } catch {
    return undefined;
  }
}

interface StatFields {
  readonly processGroup: number;
  /** utime + stime in clock ticks. */
  readonly cpuTicks: number;
}

/** Fields of /proc/<pid>/stat after the command name, which may itself contain spaces and parentheses. */
export function parseStat(stat: string): StatFields | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const processGroup = Number(rest[2]);
  const cpuTicks = Number(rest[11]) + Number(rest[12]);
  return Number.isFinite(processGroup) && Number.isFinite(cpuTicks) ? { processGroup, cpuTicks } : undefined;
}

function readStat(pid: number): StatFields | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Pids of the live processes in a process group. */
export function groupPids(group: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (readStat(pid)?.processGroup === group) pids.push(pid);
  }
  return pids;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds used so far by the live processes of a group (user + system). */
export function groupCpuSeconds(group: number): number {
  return pidsCpuSeconds(groupPids(group));
}

/** CPU seconds used so far by these processes (user + system); gone ones count 0. */
export function pidsCpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return ticks / clockTicks();
}

/** Pid and NUL-separated command line of every process this user can see. */
export function commandLines(): { readonly pid: number; readonly cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      found.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // Gone since the listing.
    }
  }
  return found;
}
