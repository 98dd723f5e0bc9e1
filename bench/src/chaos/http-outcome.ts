/**
 * How the chaos client classifies what a request did, from what it can see: an answer, or the
 * way the connection failed.
 */
import type { Outcome } from './chaos-model.js';

export const REQUEST_TIMEOUT_MS = 10_000;

/** 2xx: applied; 4xx: refused, must never be applied; 5xx: the server may have appended it. */
export function outcomeOfStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return 'acked';
  if (status >= 400 && status < 500 && status !== 408) return 'rejected';
  return 'unknown';
}

/** A refused connection never reached a server; any other failure may have. */
export function outcomeOfError(error: unknown): Outcome {
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    if ((cause as NodeJS.ErrnoException).code === 'ECONNREFUSED') return 'rejected';
    cause = cause.cause;
  }
  return 'unknown';
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** One request; a failure to connect or read the answer is returned as an outcome. */
export async function request(url: string, init: RequestInit): Promise<HttpAnswer | { readonly failed: Outcome; readonly reason: string }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body };
  } catch (error) {
    const reason =
      error instanceof Error ? `${error.name}: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
    return { failed: outcomeOfError(error), reason };
  }
}
