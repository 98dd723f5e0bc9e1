import { describe, expect, it } from 'vitest';
import { applyEvent, ErrorCode, MAX_TTL_SECONDS, parseEnvelope, toEntityView, ttlAfter, type FluxEvent, type StoredEntity } from '@flux/domain';

const envelope = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  stream: 'agents.presence',
  source: 'agent',
  timestamp: 1_764_000_000_000,
  payload: { entity_id: 'team/agent-1', properties: { status: 'online' } },
  ...extra,
});

const event = (extra: Partial<FluxEvent> = {}): FluxEvent => ({ ...(parseEnvelope(envelope()) as FluxEvent), ...extra });

const T = 1_765_000_000_000;

describe('ttl_seconds on the envelope', () => {
  it('accepts integers from 1 to one year, and null', () => {
    expect(parseEnvelope(envelope({ ttl_seconds: 1 })).ttl_seconds).toBe(1);
    expect(parseEnvelope(envelope({ ttl_seconds: MAX_TTL_SECONDS })).ttl_seconds).toBe(MAX_TTL_SECONDS);
    expect(parseEnvelope(envelope({ ttl_seconds: null })).ttl_seconds).toBeNull();
    expect('ttl_seconds' in parseEnvelope(envelope())).toBe(false);
  });

  it.each([0, -1, 1.5, MAX_TTL_SECONDS + 1, '60', true, {}])('rejects %j with an error naming the field', (value) => {
    expect(() => parseEnvelope(envelope({ ttl_seconds: value }))).toThrow(
      expect.objectContaining({ code: ErrorCode.Validation, message: expect.stringContaining('ttl_seconds') }),
    );
  });
});

describe('ttl of an entity', () => {
  it('starts from the time the log stored the event, not the producer timestamp', () => {
    expect(ttlAfter(undefined, event({ ttl_seconds: 30 }), T)).toEqual({ seconds: 30, expiresAt: T + 30_000 });
  });

  it('is kept and restarted by a later event without ttl_seconds', () => {
    const created = applyEvent(undefined, event({ ttl_seconds: 30 }), T);
    expect(created.kind === 'upsert' && created.entity.ttl).toEqual({ seconds: 30, expiresAt: T + 30_000 });
    const updated = applyEvent(created.kind === 'upsert' ? created.entity : undefined, event(), T + 10_000);
    expect(updated.kind === 'upsert' && updated.entity.ttl).toEqual({ seconds: 30, expiresAt: T + 40_000 });
  });

  it('is replaced by a new ttl_seconds and cleared by null', () => {
    const current: StoredEntity = { properties: {}, version: 1, lastUpdated: T, ttl: { seconds: 30, expiresAt: T + 30_000 } };
    expect(ttlAfter(current, event({ ttl_seconds: 5 }), T + 1)).toEqual({ seconds: 5, expiresAt: T + 5_001 });
    const cleared = applyEvent(current, event({ ttl_seconds: null }), T + 1);
    expect(cleared.kind === 'upsert' && 'ttl' in cleared.entity).toBe(false);
  });

  it('is absent on entities never given one, and shown in the view only when set', () => {
    const plain = applyEvent(undefined, event(), T);
    expect(plain.kind === 'upsert' && 'ttl' in plain.entity).toBe(false);
    expect(toEntityView('a', { properties: {}, version: 1, lastUpdated: T })).not.toHaveProperty('expiresAt');
    expect(toEntityView('a', { properties: {}, version: 1, lastUpdated: T, ttl: { seconds: 2, expiresAt: T + 2000 } })).toMatchObject({
      ttlSeconds: 2,
      expiresAt: new Date(T + 2000).toISOString(),
    });
  });
});
