import { z } from 'zod';
import { ErrorCode } from '@flux/domain';

export interface RouteDoc {
  readonly summary: string;
  /** Longer prose (CommonMark) for the operation, where the summary cannot say enough. */
  readonly description?: string;
  readonly tags: readonly string[];
  readonly querystring?: z.ZodType;
  readonly params?: z.ZodType;
  readonly body?: z.ZodType;
  /**
   * Status code → description of an error body, or the description and zod schema of the body
   * (JSON unless `contentType` names another media type).
   */
  readonly responses: Readonly<Record<number, string | { description: string; schema: z.ZodType; contentType?: string }>>;
}

/** Every error body: a message and the stable code of libs/domain/src/errors.ts. */
const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'code'],
  properties: { error: { type: 'string' }, code: { type: 'string', enum: Object.values(ErrorCode) } },
} as const;

const toJson = (schema: z.ZodType): Record<string, unknown> =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

/**
 * Builds a Fastify route schema for the OpenAPI document from the same zod schemas the
 * handlers parse with. Fastify does not validate or serialise with it (see build-server):
 * the handlers own validation so every 400 names its field the same way.
 */
export function routeDoc(doc: RouteDoc): Record<string, unknown> {
  const response: Record<string, unknown> = {};
  for (const [status, entry] of Object.entries(doc.responses)) {
    if (typeof entry === 'string') response[status] = { description: entry, ...ERROR_SCHEMA };
    else if (entry.contentType === undefined) response[status] = { description: entry.description, ...toJson(entry.schema) };
    else response[status] = { description: entry.description, content: { [entry.contentType]: { schema: toJson(entry.schema) } } };
  }
  return {
    summary: doc.summary,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    tags: [...doc.tags],
    ...(doc.querystring === undefined ? {} : { querystring: toJson(doc.querystring) }),
    ...(doc.params === undefined ? {} : { params: toJson(doc.params) }),
    ...(doc.body === undefined ? {} : { body: toJson(doc.body) }),
    response,
  };
}
