import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePosition, ErrorCode, FluxError, parsePosition, positionFields, positionParam } from '@flux/domain';

const position = fc.record({ partition: fc.integer({ min: 0, max: 2 ** 31 }), offset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) });

describe('position tokens', () => {
  it('round-trip every position, as URL-safe text that compares equal only for equal positions', () => {
    fc.assert(
      fc.property(position, position, (a, b) => {
        const token = encodePosition(a);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(parsePosition(token)).toEqual(a);
        expect(token === encodePosition(b)).toBe(a.partition === b.partition && a.offset === b.offset);
      }),
    );
  });

  it('refuses anything Flux did not make: other text, other spellings of a position, padding', () => {
    const valid = encodePosition({ partition: 1, offset: 2 });
    for (const token of [
      '',
      'x',
      '!!',
      `${valid}=`,
      `${valid}A`,
      Buffer.from('1.02').toString('base64url'),
      Buffer.from('-1.2').toString('base64url'),
    ]) {
      expect(parsePosition(token), token).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const parsed = parsePosition(text);
        if (parsed !== undefined) expect(encodePosition(parsed)).toBe(text);
      }),
    );
  });

  it('checks a client token against the log: 400 naming the field when it is not one of its positions', () => {
    expect(positionParam(encodePosition({ partition: 3, offset: 9 }), 4, 'min_position')).toEqual({ partition: 3, offset: 9 });
    for (const token of ['nope', encodePosition({ partition: 4, offset: 9 })]) {
      const error = (() => {
        try {
          positionParam(token, 4, 'min_position');
        } catch (caught) {
          return caught as FluxError;
        }
        return undefined;
      })();
      expect(error?.code).toBe(ErrorCode.Validation);
      expect(error?.message).toContain('min_position');
    }
  });

  it('gives a write the token with its partition and offset', () => {
    expect(positionFields({ partition: 2, offset: 40 })).toEqual({
      position: encodePosition({ partition: 2, offset: 40 }),
      partition: 2,
      offset: 40,
    });
  });
});
