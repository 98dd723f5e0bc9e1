import { FluxError, ErrorCode } from './errors.js';
import type { Properties } from './envelope.js';

/*
 * The entity filter language (docs/filters.md), shared by lists and subscriptions:
 *
 *   expr       := or
 *   or         := and ("or" and)*
 *   and        := unary ("and" unary)*
 *   unary      := "not" unary | "(" expr ")" | clause
 *   clause     := path ("=" | "!=" | "<" | "<=" | ">" | ">=") value
 *               | path "exists"
 *               | path "in" "(" value ("," value)* ")"
 *               | path ("startswith" | "contains") value
 *   path       := "@id" | segment ("." segment)*       segment: name or `back-quoted`
 *   value      := "string" | 'string' | number | true | false | null
 *
 * A filter is parsed once into closures, then evaluated per entity without allocating. Input
 * is hostile: its length, nesting, clauses, `in` lists and paths are bounded, so neither
 * parsing nor evaluation can recurse deeply or run long, and no part of it is ever run as code
 * or as a regular expression.
 */

export const FILTER_MAX_LENGTH = 4096;
/** Parentheses and `not`s nested inside each other. */
export const FILTER_MAX_DEPTH = 16;
/** Clauses (comparisons, exists, in, startswith, contains) in one filter. */
export const FILTER_MAX_CLAUSES = 64;
export const FILTER_MAX_IN_VALUES = 256;
export const FILTER_MAX_PATH_SEGMENTS = 16;

/** A compiled filter: `matches` never throws, whatever the entity holds. */
export interface EntityFilter {
  /** The expression it was compiled from (what travels to shards). */
  readonly source: string;
  /**
   * The top-level properties it reads: `matches` gives the same answer on an entity reduced to
   * these, which is what a filtered subscription keeps of each entity.
   */
  readonly properties: readonly string[];
  matches(properties: Properties, id: string): boolean;
}

type Scalar = string | number | boolean | null;
type Predicate = (properties: Properties, id: string) => boolean;

const MISSING = Symbol('missing');

type Token =
  | { readonly kind: 'path'; readonly segments: readonly string[]; readonly at: number; readonly text: string }
  | { readonly kind: 'value'; readonly value: Scalar; readonly at: number; readonly text: string }
  | { readonly kind: 'symbol'; readonly text: string; readonly at: number }
  | { readonly kind: 'end'; readonly at: number; readonly text: string };

const ID_FIELD = '@id';
const COMPARISONS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const LITERALS: Readonly<Record<string, Scalar>> = { true: true, false: false, null: null };
const NAME_START = /[A-Za-z_$]/;
const NAME_PART = /[A-Za-z0-9_$-]/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;

const filterError = (problem: string, at: number): FluxError => new FluxError(ErrorCode.Validation, `filter: ${problem} (at character ${at + 1})`);

const shown = (token: Token): string => (token.kind === 'end' ? 'the end of the filter' : `"${token.text}"`);

/** Splits an expression into tokens; every token remembers where it starts. */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const at = i;
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'symbol', text: c, at });
      i++;
    } else if (c === '=' || c === '<' || c === '>' || c === '!') {
      const two = source.slice(i, i + 2);
      const text = two === '!=' || two === '<=' || two === '>=' ? two : c;
      if (text === '!') throw filterError('"!" must be followed by "=" (use "not" to negate)', at);
      tokens.push({ kind: 'symbol', text, at });
      i += text.length;
    } else if (c === '"' || c === "'") {
      const end = closingQuote(source, i);
      const text = source.slice(i, end + 1);
      tokens.push({ kind: 'value', value: unquote(text, at), at, text });
      i = end + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const match = NUMBER.exec(source.slice(i, i + 64));
      if (match === null) throw filterError(`"${c}" does not start a number`, at);
      const value = Number(match[0]);
      if (!Number.isFinite(value)) throw filterError(`${match[0]} is out of range`, at);
      tokens.push({ kind: 'value', value, at, text: match[0] });
      i += match[0].length;
    } else if (c === '@') {
      const end = nameEnd(source, i + 1);
      const text = source.slice(i, end);
      if (text !== ID_FIELD) throw filterError(`unknown field ${text} (the only @ field is @id)`, at);
      tokens.push({ kind: 'path', segments: [], at, text });
      i = end;
    } else if (NAME_START.test(c) || c === '`') {
      const segments: string[] = [];
      for (;;) {
        if (segments.length === FILTER_MAX_PATH_SEGMENTS) throw filterError(`a path has more than ${FILTER_MAX_PATH_SEGMENTS} segments`, at);
        if (source[i] === '`') {
          const close = source.indexOf('`', i + 1);
          if (close < 0) throw filterError('unterminated `quoted` name', i);
          segments.push(source.slice(i + 1, close));
          i = close + 1;
        } else {
          const end = nameEnd(source, i);
          if (end === i) throw filterError('expected a name after "."', i);
          segments.push(source.slice(i, end));
          i = end;
        }
        if (source[i] !== '.') break;
        i++;
      }
      const text = source.slice(at, i);
      if (segments.length === 1 && source[at] !== '`' && Object.hasOwn(LITERALS, text)) {
        tokens.push({ kind: 'value', value: LITERALS[text]!, at, text });
      } else {
        tokens.push({ kind: 'path', segments, at, text });
      }
    } else {
      throw filterError(`unexpected character "${c}"`, at);
    }
  }
  tokens.push({ kind: 'end', at: source.length, text: '' });
  return tokens;
}

function nameEnd(source: string, from: number): number {
  let i = from;
  while (i < source.length && NAME_PART.test(source[i]!)) i++;
  return i;
}

function closingQuote(source: string, open: number): number {
  const quote = source[open];
  for (let i = open + 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === quote) return i;
  }
  throw filterError('unterminated string', open);
}

/** Double quotes: a JSON string. Single quotes: backslash escapes the next character. */
function unquote(text: string, at: number): string {
  if (text.startsWith("'")) return text.slice(1, -1).replace(/\\(.)/gs, '$1');
  try {
    return JSON.parse(text) as string;
  } catch {
    throw filterError(`${text.length > 40 ? `${text.slice(0, 40)}…` : text} is not a valid "string" (JSON escapes only)`, at);
  }
}

/** Code point order (the UTF-8 byte order of ids), not JavaScript's UTF-16 code unit order. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above every other code unit.
    x += x >= 0xe000 ? -0x800 : x >= 0xd800 ? 0x2000 : 0;
    y += y >= 0xe000 ? -0x800 : y >= 0xd800 ? 0x2000 : 0;
    return x - y;
  }
  return a.length - b.length;
}

function resolve(properties: Properties, id: string, segments: readonly string[] | undefined): unknown {
  if (segments === undefined) return id;
  let current: unknown = properties;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      const index = /^(?:0|[1-9]\d{0,8})$/.test(segment) ? Number(segment) : -1;
      if (index < 0 || index >= current.length) return MISSING;
      current = current[index] as unknown;
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return MISSING;
    }
  }
  return current;
}

/** Whether a comparison's sign (found against the value) satisfies each ordering operator. */
const ORDERINGS: Readonly<Record<string, (sign: number) => boolean>> = {
  '<': (sign) => sign < 0,
  '<=': (sign) => sign <= 0,
  '>': (sign) => sign > 0,
  '>=': (sign) => sign >= 0,
};

function order(op: string, value: Scalar, at: number): (found: unknown) => boolean {
  if (typeof value !== 'number' && typeof value !== 'string') throw filterError(`"${op}" needs a number or a string`, at);
  const holds = ORDERINGS[op]!;
  if (typeof value === 'number') return (found) => typeof found === 'number' && holds(found < value ? -1 : found > value ? 1 : 0);
  return (found) => typeof found === 'string' && holds(compareCodePoints(found, value));
}

/** Recursive descent over the tokens; depth is bounded, so the recursion is too. */
class Parser {
  private next = 0;
  private clauses = 0;
  /** Top-level property names the clauses read. */
  readonly read = new Set<string>();

  constructor(private readonly tokens: readonly Token[]) {}

  parse(): Predicate {
    const predicate = this.or(0);
    const extra = this.peek();
    if (extra.kind !== 'end') throw filterError(`expected "and", "or" or the end of the filter, found ${shown(extra)}`, extra.at);
    return predicate;
  }

  private peek(): Token {
    return this.tokens[this.next]!;
  }

  private take(): Token {
    const token = this.tokens[this.next]!;
    if (token.kind !== 'end') this.next++;
    return token;
  }

  private isWord(word: string): boolean {
    const token = this.peek();
    return token.kind === 'path' && token.segments.length === 1 && token.text === word;
  }

  private or(depth: number): Predicate {
    const parts = [this.and(depth)];
    while (this.isWord('or')) {
      this.take();
      parts.push(this.and(depth));
    }
    if (parts.length === 1) return parts[0]!;
    return (properties, id) => {
      for (const part of parts) if (part(properties, id)) return true;
      return false;
    };
  }

  private and(depth: number): Predicate {
    const parts = [this.unary(depth)];
    while (this.isWord('and')) {
      this.take();
      parts.push(this.unary(depth));
    }
    if (parts.length === 1) return parts[0]!;
    return (properties, id) => {
      for (const part of parts) if (!part(properties, id)) return false;
      return true;
    };
  }

  private unary(depth: number): Predicate {
    const token = this.peek();
    if (depth >= FILTER_MAX_DEPTH) throw filterError(`nested more than ${FILTER_MAX_DEPTH} deep`, token.at);
    if (this.isWord('not')) {
      this.take();
      const inner = this.unary(depth + 1);
      return (properties, id) => !inner(properties, id);
    }
    if (token.kind === 'symbol' && token.text === '(') {
      this.take();
      const inner = this.or(depth + 1);
      this.expectSymbol(')', 'to close "("');
      return inner;
    }
    return this.clause();
  }

  private expectSymbol(text: string, why: string): void {
    const token = this.take();
    if (token.kind !== 'symbol' || token.text !== text) throw filterError(`expected "${text}" ${why}, found ${shown(token)}`, token.at);
  }

  private value(after: string): { value: Scalar; at: number } {
    const token = this.take();
    if (token.kind !== 'value') {
      throw filterError(`expected a value (a "string", a number, true, false or null) after ${after}, found ${shown(token)}`, token.at);
    }
    return token;
  }

  private clause(): Predicate {
    const subject = this.take();
    if (subject.kind !== 'path') throw filterError(`expected a property name, @id, "not" or "(", found ${shown(subject)}`, subject.at);
    if (++this.clauses > FILTER_MAX_CLAUSES) throw filterError(`more than ${FILTER_MAX_CLAUSES} clauses`, subject.at);
    const segments = subject.text === ID_FIELD ? undefined : subject.segments;
    if (segments !== undefined) this.read.add(segments[0]!);
    const test = this.test(subject.text);
    return (properties, id) => test(resolve(properties, id, segments));
  }

  /** The test a clause applies to the value found at its path (MISSING when there is none). */
  private test(path: string): (found: unknown) => boolean {
    const op = this.take();
    const opText = op.kind === 'path' && op.segments.length === 1 ? op.text : op.kind === 'symbol' ? op.text : '';
    if (COMPARISONS.has(opText)) {
      const { value, at } = this.value(`"${opText}"`);
      if (opText === '=') return (found) => found === value;
      if (opText === '!=') return (found) => found !== value;
      return order(opText, value, at);
    }
    switch (opText) {
      case 'exists':
        return (found) => found !== MISSING;
      case 'in': {
        this.expectSymbol('(', 'after "in"');
        const values = new Set<Scalar>([this.value('"in ("').value]);
        while (this.peek().kind === 'symbol' && this.peek().text === ',') {
          const comma = this.take();
          if (values.size >= FILTER_MAX_IN_VALUES) throw filterError(`an "in" list has more than ${FILTER_MAX_IN_VALUES} values`, comma.at);
          values.add(this.value('","').value);
        }
        this.expectSymbol(')', 'to close the "in" list');
        return (found) => values.has(found as Scalar);
      }
      case 'startswith': {
        const { value, at } = this.value('"startswith"');
        if (typeof value !== 'string') throw filterError('"startswith" needs a string', at);
        return (found) => typeof found === 'string' && found.startsWith(value);
      }
      case 'contains': {
        const { value } = this.value('"contains"');
        // A string contains a substring; an array contains an element.
        return (found) =>
          typeof found === 'string' ? typeof value === 'string' && found.includes(value) : Array.isArray(found) && found.includes(value);
      }
      default:
        throw filterError(
          `expected an operator (=, !=, <, <=, >, >=, exists, in, startswith, contains) after ${JSON.stringify(path)}, found ${shown(op)}`,
          op.at,
        );
    }
  }
}

/**
 * Parses and compiles a filter expression (see docs/filters.md). Throws a FLUX_VALIDATION
 * FluxError naming the problem and the character where it is.
 */
export function compileFilter(source: string): EntityFilter {
  if (source.length > FILTER_MAX_LENGTH) throw filterError(`longer than ${FILTER_MAX_LENGTH} characters`, FILTER_MAX_LENGTH);
  if (source.trim() === '') throw filterError('the filter is empty', 0);
  const parser = new Parser(tokenize(source));
  const predicate = parser.parse();
  return { source, properties: [...parser.read], matches: predicate };
}
