/**
 * Every module of the library loads when it is the first one imported. An import cycle whose
 * modules read each other's constants while loading works in one order and throws in another
 * (a ReferenceError), and which order a program uses depends on what it imports first.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const SOURCES = new URL('../src/', import.meta.url);
const modules = readdirSync(fileURLToPath(SOURCES), { recursive: true, encoding: 'utf8' })
  .filter((path) => path.endsWith('.ts'))
  .sort();

describe('@flux/api modules', () => {
  it('are found', () => {
    expect(modules).toContain('build-server.ts');
  });

  it.each(modules)('%s loads as the first module imported', async (path) => {
    vi.resetModules();
    await expect(import(new URL(path, SOURCES).href)).resolves.toBeDefined();
  });
});
