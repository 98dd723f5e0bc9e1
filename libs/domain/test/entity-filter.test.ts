import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileFilter,
  FILTER_MAX_CLAUSES,
  FILTER_MAX_DEPTH,
  FILTER_MAX_IN_VALUES,
  FILTER_MAX_LENGTH,
  FILTER_MAX_PATH_SEGMENTS,
  FluxError,
} from '@flux/domain';

const entity = {
  status: 'open',
  name: 'Sensor Ω-01',
  battery: 42,
  ratio: -0.5,
  online: true,
  owner: null,
  tags: ['red', 'hot', 7],
  location: { zone: 'north', floor: 3, 'odd key': 'yes', nested: { deep: 'x' } },
};
const ID = 'dawn-coral/sensor-01';

const matches = (expr: string, properties: Record<string, unknown> = entity, id = ID): boolean => compileFilter(expr).matches(properties, id);

/** The FluxError a bad filter throws. */
function problemOf(expr: string): FluxError {
  try {
    compileFilter(expr);
  } catch (error) {
    if (error instanceof FluxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(expr)} to be rejected`);
}

describe('compileFilter: operators', () => {
  it('= and != compare strings, numbers, booleans and null exactly', () => {
    expect(matches('status = "open"')).toBe(true);
    expect(matches("status = 'closed'")).toBe(false);
    expect(matches('battery = 42')).toBe(true);
    expect(matches('battery = "42"')).toBe(false);
    expect(matches('online = true')).toBe(true);
    expect(matches('owner = null')).toBe(true);
    expect(matches('status != "closed"')).toBe(true);
    expect(matches('battery != 42')).toBe(false);
    // A missing property equals nothing, so != holds for it.
    expect(matches('missing = null')).toBe(false);
    expect(matches('missing != 1')).toBe(true);
    // Arrays and objects never equal a value.
    expect(matches('tags = "red"')).toBe(false);
  });

  it('<, <=, >, >= order numbers and strings, never across types', () => {
    expect(matches('battery > 41')).toBe(true);
    expect(matches('battery >= 42')).toBe(true);
    expect(matches('battery < 42')).toBe(false);
    expect(matches('battery <= 42.0')).toBe(true);
    expect(matches('ratio < -1e-1')).toBe(true);
    expect(matches('status > "a"')).toBe(true);
    expect(matches('status < "p"')).toBe(true);
    expect(matches('status >= "open"')).toBe(true);
    expect(matches('battery > "1"')).toBe(false);
    expect(matches('status > 1')).toBe(false);
    expect(matches('missing < 1')).toBe(false);
  });

  it('orders strings by code point, the order of ids', () => {
    // U+1F600 (a surrogate pair) sorts above U+FFFD although its first UTF-16 unit is lower.
    expect(matches('s > "\uFFFD"', { s: '\u{1F600}' })).toBe(true);
    expect(matches('s < "\uFFFD"', { s: '\u{1F600}' })).toBe(false);
  });

  it('exists holds for any present value, null included', () => {
    expect(matches('owner exists')).toBe(true);
    expect(matches('missing exists')).toBe(false);
    expect(matches('not missing exists')).toBe(true);
    expect(matches('location.zone exists')).toBe(true);
  });

  it('in matches any listed value', () => {
    expect(matches('status in ("closed", "open")')).toBe(true);
    expect(matches('battery in (1, 2, 3)')).toBe(false);
    expect(matches('owner in (null)')).toBe(true);
    expect(matches('missing in (null)')).toBe(false);
  });

  it('startswith and contains are plain string tests; contains also finds array elements', () => {
    expect(matches('name startswith "Sensor"')).toBe(true);
    expect(matches('name startswith "sensor"')).toBe(false);
    expect(matches('name contains "Ω-0"')).toBe(true);
    expect(matches('name contains ".*"')).toBe(false);
    expect(matches('battery startswith "4"')).toBe(false);
    expect(matches('tags contains "hot"')).toBe(true);
    expect(matches('tags contains 7')).toBe(true);
    expect(matches('tags contains "ho"')).toBe(false);
    expect(matches('name contains 1')).toBe(false);
  });

  it('and binds tighter than or; not binds tightest; parentheses group', () => {
    expect(matches('status = "closed" and battery = 42 or online = true')).toBe(true);
    expect(matches('status = "closed" and (battery = 42 or online = true)')).toBe(false);
    expect(matches('not status = "closed" and battery = 42')).toBe(true);
    expect(matches('not (status = "open" and battery = 42)')).toBe(false);
    expect(matches('not not online = true')).toBe(true);
  });

  it('reads dotted paths, array indexes, quoted names and @id', () => {
    expect(matches('location.zone = "north"')).toBe(true);
    expect(matches('location.nested.deep = "x"')).toBe(true);
    expect(matches('location.`odd key` = "yes"')).toBe(true);
    expect(matches('tags.0 = "red"')).toBe(true);
    expect(matches('tags.3 exists')).toBe(false);
    expect(matches('status.length exists')).toBe(false);
    expect(matches('@id startswith "dawn-coral/"')).toBe(true);
    expect(matches('@id = "dawn-coral/sensor-01"')).toBe(true);
    expect(matches('id exists')).toBe(false);
    expect(matches('id = 1', { id: 1 })).toBe(true);
  });

  it('never reads inherited properties', () => {
    expect(matches('constructor exists', {})).toBe(false);
    expect(matches('toString exists', {})).toBe(false);
    expect(matches('__proto__ exists', {})).toBe(false);
    expect(matches('__proto__.polluted = 1', JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>)).toBe(true);
    expect(matches('tags.length exists')).toBe(false);
  });

  it('accepts keywords as property names where a name is expected', () => {
    expect(matches('exists exists', { exists: 1 })).toBe(true);
    expect(matches('in = 1 and or = 2', { in: 1, or: 2 })).toBe(true);
    expect(matches('`not` = 1', { not: 1 })).toBe(true);
    expect(matches('`true` = true', { true: true })).toBe(true);
  });

  it('decodes JSON escapes in double quotes and backslashes in single quotes', () => {
    expect(matches('s = "a\\"b\\u00e9"', { s: 'a"bé' })).toBe(true);
    expect(matches("s = 'it\\'s'", { s: "it's" })).toBe(true);
  });
});

describe('compileFilter: bad filters', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    ['status', /expected an operator .* found the end of the filter \(at character 7\)/],
    ['status = ', /expected a value .* after "=".*at character 10/],
    ['status = open', /expected a value .* found "open"/],
    ['status ~ "x"', /unexpected character "~" \(at character 8\)/],
    ['status ! "x"', /"!" must be followed by "="/],
    ['status = "open', /unterminated string \(at character 10\)/],
    ['status = "\\x"', /not a valid "string"/],
    ['battery < true', /"<" needs a number or a string/],
    ['battery < null', /"<" needs a number or a string/],
    ['name startswith 1', /"startswith" needs a string/],
    ['status in "open"', /expected "\(" after "in"/],
    ['status in ("a" "b")', /expected "\)" to close the "in" list/],
    ['(status = "a"', /expected "\)" to close "\("/],
    ['status = "a")', /expected "and", "or" or the end of the filter, found "\)"/],
    ['status = "a" and', /expected a property name/],
    ['@version = 1', /unknown field @version/],
    ['a. = 1', /expected a name after "."/],
    ['`open = 1', /unterminated `quoted` name/],
    ['a = 1e999', /out of range/],
    ['a = -x', /does not start a number/],
    ['and = 1 or', /expected a property name/],
  ];
  it.each(cases)('rejects %j', (expr, message) => {
    const error = problemOf(expr);
    expect(error.code).toBe('FLUX_VALIDATION');
    expect(error.message).toMatch(/^filter: /);
    expect(error.message).toMatch(message);
  });
});

describe('compileFilter: bounds', () => {
  it('rejects filters longer than the limit, accepts one at it', () => {
    const clause = 's = "';
    const fitting = `${clause}${'x'.repeat(FILTER_MAX_LENGTH - clause.length - 1)}"`;
    expect(fitting).toHaveLength(FILTER_MAX_LENGTH);
    expect(matches(fitting, { s: 'x'.repeat(FILTER_MAX_LENGTH - clause.length - 1) })).toBe(true);
    expect(problemOf(`${fitting} `).message).toMatch(/longer than 4096 characters/);
  });

  it('bounds nesting of parentheses and not, so hostile input cannot overflow the stack', () => {
    const nested = (n: number): string => `${'('.repeat(n)}a = 1${')'.repeat(n)}`;
    expect(matches(nested(FILTER_MAX_DEPTH - 1), { a: 1 })).toBe(true);
    expect(problemOf(nested(FILTER_MAX_DEPTH)).message).toMatch(/nested more than 16 deep/);
    expect(problemOf(`${'not '.repeat(FILTER_MAX_DEPTH)}a = 1`).message).toMatch(/nested more than/);
    expect(problemOf('('.repeat(2000)).message).toMatch(/nested more than/);
  });

  it('bounds clauses, in lists and path segments', () => {
    const clauses = (n: number): string => Array.from({ length: n }, (_, i) => `a = ${i}`).join(' or ');
    expect(matches(clauses(FILTER_MAX_CLAUSES), { a: FILTER_MAX_CLAUSES - 1 })).toBe(true);
    expect(problemOf(clauses(FILTER_MAX_CLAUSES + 1)).message).toMatch(/more than 64 clauses/);
    const list = (n: number): string => `a in (${Array.from({ length: n }, (_, i) => i).join(',')})`;
    expect(matches(list(FILTER_MAX_IN_VALUES), { a: FILTER_MAX_IN_VALUES - 1 })).toBe(true);
    expect(problemOf(list(FILTER_MAX_IN_VALUES + 1)).message).toMatch(/more than 256 values/);
    const path = (n: number): string => `${Array.from({ length: n }, () => 'p').join('.')} exists`;
    expect(() => compileFilter(path(FILTER_MAX_PATH_SEGMENTS))).not.toThrow();
    expect(problemOf(path(FILTER_MAX_PATH_SEGMENTS + 1)).message).toMatch(/more than 16 segments/);
  });
});

describe('compileFilter: properties', () => {
  const filters = [
    'a = 1',
    'a != "x"',
    'a < 3 or a >= "m"',
    'a.b.c exists and not a.0 in (1, "x", null, true)',
    'a startswith "x" or a contains "y" or a contains 1',
    '@id > "m" and (a <= 0 or a > "")',
  ].map(compileFilter);

  it('evaluation never throws and always answers a boolean, whatever the entity holds', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', '__proto__', 'constructor'), fc.anything()), fc.string(), (properties, id) => {
        for (const filter of filters) expect(typeof filter.matches(properties, id)).toBe('boolean');
      }),
    );
  });

  it('compiling arbitrary text either succeeds or throws a FLUX_VALIDATION error', () => {
    const alphabet = fc.constantFrom(...'ab.`"\'()=!<>,-1e @ andornotinexists\\'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: alphabet, maxLength: 60 })), (text) => {
        try {
          expect(typeof compileFilter(text).matches({ a: 1 }, 'x')).toBe('boolean');
        } catch (error) {
          expect(error).toBeInstanceOf(FluxError);
          expect((error as FluxError).code).toBe('FLUX_VALIDATION');
        }
      }),
    );
  });

  it('not inverts every filter on every entity', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b'), fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null))), (properties) => {
        for (const filter of filters) {
          expect(compileFilter(`not (${filter.source})`).matches(properties, 'id')).toBe(!filter.matches(properties, 'id'));
        }
      }),
    );
  });
});
