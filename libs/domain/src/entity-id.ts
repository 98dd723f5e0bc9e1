import { FluxError, ErrorCode } from './errors.js';
import { ILL_FORMED_TEXT, isWellFormedText } from './property-values.js';

export const MAX_ENTITY_ID_LENGTH = 512;

/** Namespace owned by Flux itself; holds system entities such as the directory. */
export const SYSTEM_NAMESPACE = 'flux-core';
export const DIRECTORY_ENTITY_ID = `${SYSTEM_NAMESPACE}/directory`;

// C0 controls, DEL and C1 controls: they break logs, terminals and URLs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Returns a message describing why `id` is not a valid entity id, or undefined when it is. */
export function entityIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length === 0) return 'must not be empty';
  if (id.length > MAX_ENTITY_ID_LENGTH) return `must be at most ${MAX_ENTITY_ID_LENGTH} characters`;
  return textProblem(id);
}

/**
 * Why a string used as (part of) a key cannot be one: control characters, or unpaired
 * surrogates, which UTF-8 cannot carry and would fold distinct ids into one.
 */
export function textProblem(text: string): string | undefined {
  if (CONTROL_CHARACTERS.test(text)) return 'must not contain control characters';
  if (!isWellFormedText(text)) return ILL_FORMED_TEXT;
  return undefined;
}

export function assertEntityId(id: unknown, field = 'entity_id'): asserts id is string {
  const problem = entityIdProblem(id);
  if (problem !== undefined) throw new FluxError(ErrorCode.Validation, `${field} ${problem}`);
}

/** The part of an id before its first `/`, or undefined for ids without one. */
export function namespaceOf(id: string): string | undefined {
  const slash = id.indexOf('/');
  return slash <= 0 ? undefined : id.slice(0, slash);
}

export function isSystemEntity(id: string): boolean {
  return id.startsWith(`${SYSTEM_NAMESPACE}/`);
}
