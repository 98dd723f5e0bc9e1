/** Assertions shared by the contract tests; failure messages quote the response. */
import { expect } from 'vitest';
import { describeResponse, errorShapeProblem, type ApiResponse } from './client.js';

/** Asserts the status, quoting the response body on failure. */
export function expectStatus(response: ApiResponse, status: number | readonly number[], context = ''): void {
  const allowed = typeof status === 'number' ? [status] : status;
  expect(allowed, `${context ? `${context}: ` : ''}expected status ${allowed.join(' or ')}, got ${describeResponse(response)}`).toContain(
    response.status,
  );
}

/** Asserts the status and the contract's JSON error shape `{"error": "..."}`. */
export function expectError(response: ApiResponse, status: number | readonly number[], context = ''): string {
  expectStatus(response, status, context);
  const problem = errorShapeProblem(response);
  expect(problem, `${context ? `${context}: ` : ''}error shape (status ${response.status})`).toBeUndefined();
  return (response.body as { error: string }).error;
}

/** The position fields every acknowledged write carries (the event's place in the log). */
export const POSITION_FIELDS = {
  position: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
  partition: expect.any(Number),
  offset: expect.any(Number),
} as const;
