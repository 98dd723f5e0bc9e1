import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { UsageError } from './exit-codes.js';

/**
 * A JSON argument: given inline (as the bash client takes it), or `-` for stdin, or `@FILE`.
 * `what` names it in the error ("PROPERTIES_JSON").
 */
export async function readJsonArgument(argument: string, what: string): Promise<unknown> {
  let source: string;
  if (argument === '-') source = await text(process.stdin);
  else if (argument.startsWith('@')) source = await readFileText(argument.slice(1), what);
  else source = argument;
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function readFileText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} from ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export async function readJsonObject(argument: string, what: string): Promise<Record<string, unknown>> {
  const value = await readJsonArgument(argument, what);
  if (!isObject(value)) throw new UsageError(`${what} must be a JSON object`);
  return value;
}

/** A positive integer option value. */
export function nonNegativeInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new UsageError(`${name} must be an integer of 0 or more, got "${value}"`);
  return number;
}

export function positiveInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return number;
}
