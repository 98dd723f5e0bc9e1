/**
 * Property-based checks of envelope validation (issue 9): whatever JSON a client sends,
 * validation answers with a validation error or an event that survives the log unchanged.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeEvent, encodeEvent, ErrorCode, FluxError, MAX_PROPERTY_DEPTH, parseEnvelope, propertiesProblem } from '@flux/domain';

const RUNS = { numRuns: 200 };

/** Parses, requiring that any failure is a FLUX_VALIDATION FluxError. */
function validate(input: unknown): ReturnType<typeof parseEnvelope> | undefined {
  try {
    return parseEnvelope(input);
  } catch (error) {
    expect(error).toBeInstanceOf(FluxError);
    expect((error as FluxError).code).toBe(ErrorCode.Validation);
    return undefined;
  }
}

/** Strings with lone surrogates, astral characters, NUL and plain text mixed. */
const oddText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('\ud800', 'a\udc00b', '\u0000', '\u{1F600}', '\ufffd', '__proto__', 'constructor', ''),
);

const oddJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -0, 1e308, Number.MAX_SAFE_INTEGER + 2),
    fc.double(),
    oddText,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddText, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** `levels` nested arrays or objects around a leaf, built without recursion. */
function nested(levels: number, useArrays: boolean): unknown {
  let value: unknown = 1;
  for (let level = 0; level < levels; level++) value = useArrays ? [value] : { x: value };
  return value;
}

const envelopeWith = (entityId: unknown, properties: unknown, extra: Record<string, unknown> = {}) => ({
  stream: 'prop.tests',
  source: 'fast-check',
  timestamp: 1_764_000_000_000,
  payload: { entity_id: entityId, properties },
  ...extra,
});

describe('validation on arbitrary JSON', () => {
  it('never throws anything but a validation error on arbitrary values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => void validate(value)),
      RUNS,
    );
  });

  it('never throws anything but a validation error on envelopes with odd unicode, numbers and shapes', () => {
    fc.assert(
      fc.property(oddText, oddJson, oddText, (id, properties, source) => void validate(envelopeWith(id, properties, { source }))),
      RUNS,
    );
  });

  it('refuses nesting thousands of levels deep with a validation error naming the property (no stack overflow)', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_PROPERTY_DEPTH + 1, max: 20_000 }), fc.boolean(), (levels, useArrays) => {
        const input = envelopeWith('prop/deep', { deep: nested(levels, useArrays) });
        expect(() => parseEnvelope(input)).toThrow(`payload.properties.deep nests deeper than ${MAX_PROPERTY_DEPTH} levels`);
      }),
      { numRuns: 20 },
    );
    expect(validate(envelopeWith('prop/deep', { deep: nested(MAX_PROPERTY_DEPTH - 1, true) }))).toBeDefined();
  });

  it('walks huge properties (wide and long) without failing', () => {
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`p${i}`, i % 2 === 0 ? 'v' : [i, { i }]]));
    expect(propertiesProblem(wide)).toBeUndefined();
    expect(propertiesProblem({ long: 'x'.repeat(5_000_000) })).toBeUndefined();
  });

  it('an envelope it accepts always encodes and decodes back to an equal event', () => {
    fc.assert(
      fc.property(oddText, oddJson, (name, value) => {
        const event = validate(envelopeWith('prop/round-trip', { [name === '' ? 'k' : name]: value }));
        if (event === undefined) return;
        // Compared as JSON text: own keys such as "constructor" confuse structural matchers.
        const encoded = encodeEvent(event);
        const decoded = decodeEvent(encoded);
        expect(encodeEvent(decoded)).toBe(encoded);
        expect(Object.keys(decoded.payload.properties)).toEqual(Object.keys(event.payload.properties));
      }),
      RUNS,
    );
  });
});
