/** Where and on what a run was measured: the machine, and the versions of everything involved. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly os: string;
  readonly kernel: string;
  /** 1-minute load average when the run started and when it ended: other work on the machine shows here. */
  readonly loadAverageAtStart: number;
  readonly loadAverageAtEnd?: number;
}

export interface Versions {
  readonly node: string;
  readonly flux: { readonly root: string; readonly version: string; readonly commit: string; readonly uncommittedChanges: boolean };
  /** Packages of the harness itself (the baseline's Fastify, the load generators). */
  readonly harness: Readonly<Record<string, string>>;
  /** Fastify of the Flux checkout under test. */
  readonly fluxFastify: string;
  readonly kafka?: string;
  readonly redis?: string;
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? type();
  } catch {
    return type();
  }
}

/** The 1-minute load average, 2 decimals. */
export const loadAverage = (): number => Math.round((loadavg()[0] ?? 0) * 100) / 100;

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryBytes: totalmem(),
    os: osName(),
    kernel: `${type()} ${release()}`,
    loadAverageAtStart: loadAverage(),
  };
}

export function packageVersion(root: string, name: string): string {
  const path = join(root, 'node_modules', name, 'package.json');
  if (!existsSync(path)) return 'not installed';
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function git(root: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function versions(repoRoot: string, fluxRoot: string): Versions {
  const fluxPackage = join(fluxRoot, 'apps/flux/package.json');
  const fluxVersion = existsSync(fluxPackage) ? (JSON.parse(readFileSync(fluxPackage, 'utf8')) as { version: string }).version : 'unknown';
  return {
    node: process.version,
    flux: {
      root: fluxRoot,
      version: fluxVersion,
      commit: git(fluxRoot, ['rev-parse', 'HEAD']) ?? 'unknown',
      // The server's own code only: results and docs written by the harness do not count.
      uncommittedChanges: (git(fluxRoot, ['status', '--porcelain', '--', 'apps', 'libs', 'deploy', 'proto', 'package-lock.json']) ?? '') !== '',
    },
    harness: Object.fromEntries(['fastify', 'autocannon', 'undici', 'hdr-histogram-js', 'ws'].map((name) => [name, packageVersion(repoRoot, name)])),
    fluxFastify: packageVersion(fluxRoot, 'fastify'),
  };
}
