/**
 * Puts a profile of a bundled server (`npm start` runs one, compiled by esbuild) back into its
 * source files: V8 names the bundle as every frame's file, so the summary could not tell the
 * parts of Flux apart. Each frame in a file with a source map beside it (`<file>.map`) gets the
 * file and position of the function it starts in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SourceMapConsumer, type RawSourceMap } from 'source-map-js';
import type { CpuProfile, CpuProfileFrame } from './cpu-profile-summary.js';

/** Reads the source map of a script URL, or undefined when it has none. */
export type SourceMapReader = (scriptUrl: string) => RawSourceMap | undefined;

/** The map written beside a `file:` script, as esbuild writes it. */
export const mapBesideScript: SourceMapReader = (scriptUrl) => {
  if (!scriptUrl.startsWith('file:')) return undefined;
  const mapFile = `${fileURLToPath(scriptUrl)}.map`;
  return existsSync(mapFile) ? (JSON.parse(readFileSync(mapFile, 'utf8')) as RawSourceMap) : undefined;
};

export function withSourceLocations(profile: CpuProfile, readMap: SourceMapReader = mapBesideScript): CpuProfile {
  const consumers = new Map<string, SourceMapConsumer | undefined>();
  const consumerFor = (url: string): SourceMapConsumer | undefined => {
    if (!consumers.has(url)) {
      const map = readMap(url);
      consumers.set(url, map === undefined ? undefined : new SourceMapConsumer(map));
    }
    return consumers.get(url);
  };
  const located = (frame: CpuProfileFrame): CpuProfileFrame => {
    if (frame.url === '' || frame.lineNumber === undefined || frame.lineNumber < 0) return frame;
    const consumer = consumerFor(frame.url);
    if (consumer === undefined) return frame;
    // V8 counts lines and columns from 0; source maps count lines from 1.
    const original = consumer.originalPositionFor({ line: frame.lineNumber + 1, column: frame.columnNumber ?? 0 });
    if (original.source === null) return frame;
    // Sources are relative to the map, which sits beside the script.
    return { ...frame, url: new URL(original.source, frame.url).href, lineNumber: original.line - 1, columnNumber: original.column };
  };
  return { ...profile, nodes: profile.nodes.map((node) => ({ ...node, callFrame: located(node.callFrame) })) };
}
