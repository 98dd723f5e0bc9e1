import type { LogPosition } from './change.js';
import { ErrorCode, FluxError } from './errors.js';

/*
 * A position token names one place in the event log: a partition and an offset in it. Writes
 * answer with the token of their event, entities and WebSocket messages carry the token of the
 * event that last changed them, and a read can ask to wait until a token's partition is applied
 * that far (read-your-writes). The token is base64url of `<partition>.<offset>`: opaque to
 * clients, which only hand it back, and cheap to check.
 */

/** Longest token accepted (a 10-digit partition and a 16-digit offset need 36 characters). */
export const MAX_POSITION_TOKEN_CHARS = 64;

const DECODED = /^(0|[1-9]\d{0,9})\.(0|[1-9]\d{0,15})$/;

export const encodePosition = (position: LogPosition): string =>
  Buffer.from(`${position.partition}.${position.offset}`, 'latin1').toString('base64url');

/** The position of a token, or undefined when the token is not one Flux makes. */
export function parsePosition(token: string): LogPosition | undefined {
  if (token.length === 0 || token.length > MAX_POSITION_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const match = DECODED.exec(Buffer.from(token, 'base64url').toString('latin1'));
  if (match === null) return undefined;
  const position = { partition: Number(match[1]), offset: Number(match[2]) };
  if (!Number.isSafeInteger(position.offset)) return undefined;
  // One spelling per position, so tokens compare as strings too.
  return encodePosition(position) === token ? position : undefined;
}

/** The position of a token a client sent, for a log of `partitionCount` partitions; a 400 naming `field` otherwise. */
export function positionParam(token: string, partitionCount: number, field: string): LogPosition {
  const position = parsePosition(token);
  if (position === undefined) throw new FluxError(ErrorCode.Validation, `${field} is not a position returned by Flux`);
  if (position.partition >= partitionCount) {
    throw new FluxError(ErrorCode.Validation, `${field} names partition ${position.partition}, but the log has ${partitionCount}`);
  }
  return position;
}

/** The fields a write's answer carries for each event it appended. */
export interface PositionFields {
  readonly position: string;
  readonly partition: number;
  readonly offset: number;
}

export const positionFields = (position: LogPosition): PositionFields => ({
  position: encodePosition(position),
  partition: position.partition,
  offset: position.offset,
});
