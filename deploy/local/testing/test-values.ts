/** Values and waiting for the suites that start deployments (see test-deployment.ts). */
import { randomBytes } from 'node:crypto';

let counter = 0;

/** A lowercase id fragment unique to this run: `<label>-<time>-<random>` (fits namespace names). */
export function unique(label: string): string {
  counter += 1;
  const suffix = `${Date.now().toString(36).slice(-5)}${counter.toString(36)}${randomBytes(3).toString('hex')}`;
  return `${label.slice(0, 32 - suffix.length - 1)}-${suffix}`;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** What is being waited for, for the failure message. */
  readonly what?: string;
}

/**
 * Polls `condition` until it returns a value other than undefined/false/null and resolves with
 * it. Exceptions count as "not yet". At the deadline it throws, quoting the last value/error.
 */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, intervalMs));
  }
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'} (last: ${detail})`);
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
