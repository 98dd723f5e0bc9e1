import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import type { BatchInput, FluxClient } from '@flux/client';
import { CliFailure, ExitCode, UsageError } from '../exit-codes.js';
import { isObject } from '../json-input.js';
import type { Output } from '../output.js';
import { action } from './define.js';
import { listOptionsOf } from './state-commands.js';

/** Lines sent per client.batch call: bounds memory however large the file (the client splits by bytes). */
const IMPORT_CHUNK_LINES = 2_000;
/** Refusals listed in the summary (all are counted). */
const MAX_LISTED_REFUSALS = 100;

interface ImportSummary {
  lines: number;
  accepted: number;
  refused: number;
  /** The first refusals, by line number (1-based). */
  errors: Array<{ line: number; error: string }>;
}

class ImportTally {
  readonly summary: ImportSummary = { lines: 0, accepted: 0, refused: 0, errors: [] };

  refuse(line: number, error: string): void {
    this.summary.refused += 1;
    if (this.summary.errors.length < MAX_LISTED_REFUSALS) this.summary.errors.push({ line, error });
  }

  get text(): string {
    return `${this.summary.lines} lines: ${this.summary.accepted} accepted, ${this.summary.refused} refused`;
  }
}

async function sendChunk(client: FluxClient, chunk: Array<{ line: number; event: BatchInput }>, tally: ImportTally): Promise<void> {
  if (chunk.length === 0) return;
  const result = await client.batch(chunk.map((item) => item.event));
  tally.summary.accepted += result.accepted;
  for (const item of result.results) if (!item.ok) tally.refuse(chunk[item.index]!.line, item.error ?? 'refused');
}

async function openInput(file: string | undefined): Promise<NodeJS.ReadableStream> {
  if (file === undefined || file === '-') {
    if (file === undefined && process.stdin.isTTY === true) throw new UsageError('import needs FILE, or NDJSON piped on stdin');
    return process.stdin;
  }
  try {
    return (await open(file, 'r')).createReadStream();
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function importEvents(client: FluxClient, output: Output, file: string | undefined): Promise<ImportSummary> {
  const input = await openInput(file);
  const tally = new ImportTally();
  let chunk: Array<{ line: number; event: BatchInput }> = [];
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const text of lines) {
      tally.summary.lines += 1;
      if (text.trim() === '') continue;
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch {
        tally.refuse(tally.summary.lines, 'not valid JSON');
        continue;
      }
      if (!isObject(event)) {
        tally.refuse(tally.summary.lines, 'not a JSON object');
        continue;
      }
      chunk.push({ line: tally.summary.lines, event: event as unknown as BatchInput });
      if (chunk.length >= IMPORT_CHUNK_LINES) {
        await sendChunk(client, chunk, tally);
        chunk = [];
        output.progress(`importing… ${tally.text}`);
      }
    }
    await sendChunk(client, chunk, tally);
  } catch (error) {
    output.endProgress();
    if (tally.summary.accepted > 0) output.note(`import stopped after ${tally.text}`);
    throw error;
  } finally {
    lines.close();
  }
  output.endProgress();
  return tally.summary;
}

export function registerTransferCommands(program: Command): void {
  action(
    program
      .command('import')
      .description('Publish NDJSON events (one envelope per line) from FILE or stdin')
      .argument('[FILE]', 'NDJSON file; - or nothing reads stdin')
      .addHelpText(
        'after',
        '\nEach line is an event envelope ({"stream","source","payload":{"entity_id","properties"}}) or\n{"entityId","properties"}; a missing timestamp becomes now. Events are sent in order, in batches\nunder the server\'s byte limit. Progress goes to stderr on a terminal; the summary (accepted,\nrefused, the first refusals by line) to stdout. Exit status 5 when any line was refused.',
      ),
    async ({ client, output }, [file]) => {
      const summary = await importEvents(client, output, file);
      const label = file === undefined || file === '-' ? 'stdin' : file;
      await output.result(summary, (value) =>
        [
          `imported ${label}: ${value.accepted} accepted, ${value.refused} refused (${value.lines} lines)`,
          ...value.errors.map((refusal) => `  line ${refusal.line}: ${refusal.error}`),
        ].join('\n'),
      );
      if (summary.refused > 0) throw new CliFailure(`${summary.refused} events refused`, ExitCode.Partial);
    },
  );

  action<{ prefix?: string; namespace?: string; pageSize?: string }>(
    program
      .command('export')
      .description('Write entities as NDJSON (one entity per line), in id order')
      .addOption(new Option('--prefix <PREFIX>', 'ids starting with PREFIX').conflicts('namespace'))
      .option('--namespace <NS>', 'ids of the form NS/...')
      .option('--page-size <N>', 'entities per request (default 1000)'),
    async ({ client, output }, _args, options) => {
      for await (const entity of client.list(listOptionsOf(options))) await output.line(JSON.stringify(entity));
    },
  );
}
