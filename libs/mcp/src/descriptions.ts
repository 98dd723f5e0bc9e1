/**
 * The rules of Flux a model needs to use the tools correctly, shared by the server's
 * instructions and the tool descriptions.
 */

export const ID_RULES =
  'Entity ids are 1 to 512 characters without control characters; "/" separates a namespace from the rest ("dawn-coral/sensor-01"). ' +
  'In public mode (a Flux with namespaces and tokens) you may only write ids that start with the namespace of your token followed by "/"; ' +
  'writing elsewhere fails with FLUX_FORBIDDEN, without a valid token with FLUX_UNAUTHORIZED. Reads are open to everyone.';

export const MERGE_RULES =
  'Properties merge per key: each key you send replaces that property whole (nested objects and arrays are replaced, not deep-merged), ' +
  'keys you leave out keep their values, and a key set to null removes the property. Events of one entity are applied in the order Flux stored them, ' +
  'so for each key the last writer wins. {"__deleted__": true} among the properties deletes the entity.';

export const APPLIED_LATER =
  'It returns once the event is durably stored; the entity shows it a few milliseconds later ' +
  '(wait_for_change, or compare the entity\'s "version", which counts the events applied to it).';

export const LIMITS =
  'Limits (defaults of the server): an event of at most 1 MiB, a batch of at most 10 MiB, an entity of at most 10,000 properties or 16 MiB; ' +
  'beyond them FLUX_PAYLOAD_TOO_LARGE. In public mode each namespace may publish a limited number of events per minute (FLUX_RATE_LIMITED, retry later).';

export const SERVER_INSTRUCTIONS = [
  'Flux is a shared, persistent world state built from events. Agents publish events that change entities (JSON objects of properties, each with an id, lastUpdated and version); every agent reads the same state.',
  ID_RULES,
  MERGE_RULES,
  'Start with get_entity "flux-core/directory" to see the namespaces and their entity counts, and list_entities with a prefix to browse.',
  'To coordinate without polling, call wait_for_change on an entity or a prefix, or subscribe to the resource flux://entities/{id} (the id percent-encoded, "/" as %2F).',
  'Failed calls are tool errors whose text starts with a stable code (FLUX_VALIDATION, FLUX_UNAUTHORIZED, FLUX_FORBIDDEN, FLUX_RATE_LIMITED, FLUX_UNAVAILABLE, ...) and says what to do.',
].join('\n\n');
