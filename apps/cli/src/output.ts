import { once } from 'node:events';

export type OutputFormat = 'json' | 'text';

/**
 * Where results go: JSON when stdout is not a terminal (or `--output json`), readable text on
 * a terminal. Writes wait for the pipe to drain, so `flux export | slow-consumer` stays bounded.
 */
export class Output {
  constructor(
    readonly format: OutputFormat,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
    readonly stderrIsTty: boolean = process.stderr.isTTY === true,
  ) {}

  get json(): boolean {
    return this.format === 'json';
  }

  async write(text: string): Promise<void> {
    if (!this.stdout.write(text)) await once(this.stdout, 'drain');
  }

  async line(text: string): Promise<void> {
    await this.write(`${text}\n`);
  }

  /** A JSON document: compact for machines, indented on a terminal. */
  async value(value: unknown): Promise<void> {
    await this.line(this.json ? JSON.stringify(value) : JSON.stringify(value, null, 2));
  }

  /** A result: JSON as is, or the text `render` makes of it. */
  async result<T>(value: T, render: (value: T) => string): Promise<void> {
    if (this.json) await this.value(value);
    else await this.line(render(value));
  }

  /** A note for people (progress, connection state); never on stdout. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /** A line redrawn in place on a terminal (progress); nothing when stderr is not one. */
  progress(text: string): void {
    if (this.stderrIsTty) this.stderr.write(`\r\x1b[2K${text}`);
  }

  endProgress(): void {
    if (this.stderrIsTty) this.stderr.write('\r\x1b[2K');
  }
}

/** `auto` picks JSON unless stdout is a terminal. */
export function outputFormat(option: string | undefined, stdoutIsTty = process.stdout.isTTY === true): OutputFormat {
  if (option === 'json' || option === 'text') return option;
  return stdoutIsTty ? 'text' : 'json';
}

/** Rows as aligned columns under a header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const render = (row: readonly string[]): string =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)].join('\n');
}

/** A JSON value short enough for one line of a table. */
export function brief(value: unknown, max = 80): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
