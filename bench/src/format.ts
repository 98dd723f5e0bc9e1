/** Number formatting shared by the stdout summary and docs/benchmarks.md. */
import type { TargetOutcome, TargetUnit } from './targets.js';

export const integer = (value: number): string => Math.round(value).toLocaleString('en-US');

export const megabytes = (bytes: number): string => `${integer(bytes / 1e6)} MB`;

export function milliseconds(value: number): string {
  if (value >= 100) return `${integer(value)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function formatValue(unit: TargetUnit, value: number): string {
  switch (unit) {
    case 'ratio':
      return `${value.toFixed(2)}×`;
    case 'ms':
      return milliseconds(value);
    case 'bytes':
      return megabytes(value);
    case 'cores':
      return `${value.toFixed(2)} core${value === 1 ? '' : 's'}`;
    case 'CPU-s':
      return `${value.toFixed(2)} CPU-s`;
    default:
      return `${integer(value)} ${unit}`;
  }
}

export function thresholdText(target: TargetOutcome): string {
  const comparator = { '>=': '≥', '<=': '≤', '<': '<' }[target.comparator];
  return target.unit === 'ratio' ? `${comparator} ${target.threshold}× baseline` : `${comparator} ${formatValue(target.unit, target.threshold)}`;
}

export function verdict(target: TargetOutcome): string {
  if (target.met === null) return 'not evaluated';
  return target.met ? 'met' : 'not met';
}

/** A Markdown table; cells must not contain `|`. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
