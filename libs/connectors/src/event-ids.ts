import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal values always serialise to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
}

/**
 * The event id of one observation: a UUID (version 8, RFC 9562) derived from SHA-256 of the
 * connector, the full entity id and the observed properties. The same observation always gets
 * the same id, so a retry or a restart cannot introduce a second, different event for it.
 */
export function observationEventId(connector: string, entityId: string, properties: unknown): string {
  const digest = createHash('sha256')
    .update(`flux-connector\n${connector}\n${entityId}\n${canonicalJson(properties)}`)
    .digest();
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
