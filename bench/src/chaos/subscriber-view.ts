/**
 * A WebSocket subscriber's picture of the entities it follows, built only from what the server
 * sent: `state_update` sets (or, with null, removes) one property, `entity_deleted` empties the
 * entity. After a reconnect the subscriber resubscribes and then reads each entity once
 * (`reset`), the usual subscribe-then-read pattern; updates that overlap the read are replayed
 * in order, which converges because each event's updates follow every earlier event's.
 */
export type ViewProperties = Map<string, unknown>;

export class SubscriberView {
  private readonly entities = new Map<string, ViewProperties>();

  /** Applies one server message; anything that is not an update of a followed entity is ignored. */
  apply(message: unknown, follows: (entityId: string) => boolean): void {
    if (typeof message !== 'object' || message === null) return;
    const { type, entity_id: entityId, property, value } = message as Record<string, unknown>;
    if (typeof entityId !== 'string' || !follows(entityId)) return;
    if (type === 'entity_deleted') {
      this.entities.set(entityId, new Map());
    } else if (type === 'state_update' && typeof property === 'string') {
      const properties = this.entities.get(entityId) ?? new Map<string, unknown>();
      if (value === null) properties.delete(property);
      else properties.set(property, value);
      this.entities.set(entityId, properties);
    }
  }

  /** Replaces an entity's picture by a read of it (undefined: it does not exist). */
  reset(entityId: string, properties: Readonly<Record<string, unknown>> | undefined): void {
    this.entities.set(entityId, new Map(Object.entries(properties ?? {})));
  }

  has(entityId: string, property: string): boolean {
    return this.entities.get(entityId)?.has(property) ?? false;
  }

  /** Differences from the final state, one line per entity that differs. */
  divergences(finals: ReadonlyMap<string, Readonly<Record<string, unknown>> | undefined>): string[] {
    const lines: string[] = [];
    for (const [entityId, final] of finals) {
      const seen = this.entities.get(entityId) ?? new Map<string, unknown>();
      const expected = new Map(Object.entries(final ?? {}));
      const missing = [...expected.keys()].filter((name) => !seen.has(name));
      const extra = [...seen.keys()].filter((name) => !expected.has(name));
      const different = [...expected.keys()].filter(
        (name) => seen.has(name) && JSON.stringify(seen.get(name)) !== JSON.stringify(expected.get(name)),
      );
      if (missing.length + extra.length + different.length === 0) continue;
      const parts = [
        missing.length > 0 ? `missing ${missing.slice(0, 5).join(',')}${missing.length > 5 ? ',…' : ''}` : '',
        extra.length > 0 ? `extra ${extra.slice(0, 5).join(',')}${extra.length > 5 ? ',…' : ''}` : '',
        different.length > 0 ? `different ${different.slice(0, 5).join(',')}` : '',
      ].filter((part) => part !== '');
      lines.push(`${entityId}: ${parts.join('; ')}`);
    }
    return lines;
  }
}
