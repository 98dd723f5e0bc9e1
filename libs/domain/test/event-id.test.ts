import { describe, expect, it } from 'vitest';
import { createEventIdGenerator } from '../src/event-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('event ids', () => {
  it('are distinct UUIDv7 across many pool refills', () => {
    const next = createEventIdGenerator();
    const ids = Array.from({ length: 5000 }, next);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sort in generation order within one millisecond and across milliseconds', () => {
    let clock = 1_700_000_000_000;
    const next = createEventIdGenerator(() => clock);
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      ids.push(next());
      if (i % 100 === 99) clock += 1;
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it('carry the clock in their leading 48 bits', () => {
    const at = Date.UTC(2026, 10, 24, 12, 0, 0);
    const id = createEventIdGenerator(() => at)();
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(at);
  });

  it('stay ordered when the clock steps back', () => {
    let clock = 1_700_000_000_500;
    const next = createEventIdGenerator(() => clock);
    const first = next();
    clock -= 400;
    const second = next();
    expect(second > first).toBe(true);
  });
});
