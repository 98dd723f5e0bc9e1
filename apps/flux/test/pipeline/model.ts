/**
 * A reference model of what the pipeline must materialise: per entity, how many events were
 * appended and the properties the contract's merge rules give (replace whole, null removes).
 */
import { parseEnvelope, type FluxEvent } from '@flux/domain';
import { envelope } from './support.js';

export const ENTITY_IDS = [
  'alpha/a',
  'alpha/b',
  'alpha/c',
  'alpha/deep/er',
  'beta/a',
  'beta/b',
  'gamma/x',
  'loose-1',
  'loose-2',
  'delta/é-unicode',
] as const;

export class Model {
  readonly counts = new Map<string, number>();
  readonly properties = new Map<string, Record<string, unknown>>();
  private sequence = 0;

  /** The next event of `round`: an uneven spread over the entities, each event changing several properties. */
  next(round: number): FluxEvent {
    const i = this.sequence++;
    const id = ENTITY_IDS[(i * i + 3 * i + round) % ENTITY_IDS.length]!;
    const k = (this.counts.get(id) ?? 0) + 1;
    const properties: Record<string, unknown> = { count: k, [`round${round}`]: i, [`p${k % 3}`]: { k, round } };
    // Every later round removes the previous round's marker.
    if (round > 0) properties[`round${round - 1}`] = null;
    this.counts.set(id, k);
    const merged = { ...this.properties.get(id) };
    for (const [key, value] of Object.entries(properties)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    this.properties.set(id, merged);
    return parseEnvelope(envelope(id, properties, { source: `round-${round}` }));
  }

  events(round: number, count: number): FluxEvent[] {
    return Array.from({ length: count }, () => this.next(round));
  }

  get total(): number {
    return [...this.counts.values()].reduce((sum, n) => sum + n, 0);
  }
}
