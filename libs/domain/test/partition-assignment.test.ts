import { describe, expect, it } from 'vitest';
import { assignPartitions } from '../src/index.js';

const members = (count: number): string[] => Array.from({ length: count }, (_, i) => `flux-reducer-${i}`);

/** Partitions whose owner differs between two assignments. */
function moved(before: Map<string, number[]>, after: Map<string, number[]>, partitionCount: number): number {
  const owner = (assignment: Map<string, number[]>): string[] => {
    const owners = new Array<string>(partitionCount);
    for (const [member, partitions] of assignment) for (const p of partitions) owners[p] = member;
    return owners;
  };
  const a = owner(before);
  const b = owner(after);
  return a.filter((member, p) => member !== b[p]).length;
}

describe('assignPartitions', () => {
  it('gives every partition to exactly one member, evenly', () => {
    for (const [count, partitions] of [
      [1, 12],
      [3, 12],
      [5, 12],
      [7, 64],
      [20, 12],
    ] as const) {
      const assignment = assignPartitions(members(count), partitions);
      const all = [...assignment.values()].flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: partitions }, (_, p) => p));
      const sizes = [...assignment.values()].map((owned) => owned.length);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(Math.ceil(partitions / count));
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(Math.ceil(partitions / count));
    }
  });

  it('is the same whatever order the members are listed in', () => {
    const forward = assignPartitions(['a', 'b', 'c', 'd'], 24);
    const backward = assignPartitions(['d', 'c', 'b', 'a', 'b'], 24);
    expect(Object.fromEntries(backward)).toEqual(Object.fromEntries(forward));
  });

  it('moves few partitions besides the joining or leaving member’s share', () => {
    const partitions = 64;
    const three = assignPartitions(members(3), partitions);
    const four = assignPartitions(members(4), partitions);
    const two = assignPartitions(members(2), partitions);
    // A fresh hash-mod placement would move about three quarters; the joining member's fair share is 16.
    expect(moved(three, four, partitions)).toBeLessThanOrEqual(32);
    expect(moved(three, two, partitions)).toBeLessThanOrEqual(32);
  });

  it('assigns nothing without members and refuses a bad partition count', () => {
    expect(assignPartitions([], 12).size).toBe(0);
    expect(() => assignPartitions(['a'], 0)).toThrow(RangeError);
  });
});
