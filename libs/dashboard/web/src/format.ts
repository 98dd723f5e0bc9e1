const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateAndTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const integer = new Intl.NumberFormat();
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** A time as the reader expects it: only the time of day when it is today. */
export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toDateString() === new Date().toDateString() ? timeOfDay.format(date) : dateAndTime.format(date);
}

export const isoOf = (time: string | number): string => {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : date.toISOString();
};

export const formatInteger = (value: number): string => integer.format(value);
export const formatRate = (value: number): string => decimal.format(value);

/** A property value on one line, cut to `max` characters. */
export function inlineJson(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `name: value, …` of an entity's first properties, for a table cell. */
export function propertiesSummary(properties: Record<string, unknown>, max = 120): string {
  const parts: string[] = [];
  let length = 0;
  for (const [name, value] of Object.entries(properties)) {
    const part = `${name}: ${inlineJson(value, 40)}`;
    if (length + part.length > max && parts.length > 0) {
      parts.push('…');
      break;
    }
    parts.push(part);
    length += part.length + 2;
  }
  return parts.join(', ');
}

export const prettyJson = (value: unknown): string => JSON.stringify(value, null, 2);
