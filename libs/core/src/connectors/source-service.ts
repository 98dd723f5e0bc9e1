import { randomUUID } from 'node:crypto';
import { query } from 'jsonpath-rfc9535';
import { z } from 'zod';
import { ErrorCode, FluxError, formatIssues } from '@flux/domain';
import type { ControlStore, DisappearPolicy, SourceAuth, StoredSource } from '../ports/control-store.js';
import { checkFetchTarget } from './address-policy.js';
import type { CredentialVault } from './credential-vault.js';

/** Bounds of what one namespace may configure (a public instance polls on its users' behalf). */
export const SOURCE_LIMITS = {
  perOwner: 20,
  nameLength: 100,
  urlLength: 2048,
  expressionLength: 256,
  prefixLength: 128,
  properties: 50,
  propertyNameLength: 128,
  tokenLength: 4096,
  minIntervalSeconds: 5,
  maxIntervalSeconds: 86_400,
  tapConfigBytes: 16 * 1024,
} as const;

/** The connector name a source's state and lease are kept under. */
export const sourceStateName = (id: string): string => `source:${id}`;

const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/;
const FORBIDDEN_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'cookie',
  'accept',
  'if-none-match',
  'if-modified-since',
]);

/** An RFC 9535 JSONPath, parsed once to reject bad syntax; regex functions are refused (their cost has no bound). */
const expression = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(SOURCE_LIMITS.expressionLength, { error: `must be at most ${SOURCE_LIMITS.expressionLength} characters` })
  .superRefine((text, context) => {
    if (/\b(match|search)\s*\(/.test(text)) {
      context.addIssue({ code: 'custom', message: 'must not use match() or search()' });
      return;
    }
    try {
      query({}, text);
    } catch (error) {
      context.addIssue({
        code: 'custom',
        message: `is not a JSONPath expression (${error instanceof Error ? error.message.split('\n')[0] : 'invalid'})`,
      });
    }
  });

const propertyName = z.string().min(1).max(SOURCE_LIMITS.propertyNameLength);
/** A whitelist of top-level fields, or a mapping property → expression. */
const propertiesSchema = z.union([
  z.array(propertyName).min(1).max(SOURCE_LIMITS.properties),
  z
    .record(propertyName, expression)
    .refine((mapping) => Object.keys(mapping).length >= 1 && Object.keys(mapping).length <= SOURCE_LIMITS.properties, {
      error: `must map 1 to ${SOURCE_LIMITS.properties} properties`,
    }),
]);

const authSchema = z.union([
  z.enum(['none', 'bearer', 'basic']),
  z.strictObject({
    header: z
      .string()
      .regex(HEADER_NAME, { error: 'must be a header name' })
      .refine((name) => !FORBIDDEN_HEADERS.has(name.toLowerCase()), { error: 'is a header Flux sets itself' }),
  }),
]);

const disappearSchema = z.union([
  z.enum(['keep', 'delete']),
  z.strictObject({ mark: propertyName.refine((name) => name !== '__deleted__', { error: 'must not be __deleted__' }) }),
]);

const urlSchema = z
  .string()
  .max(SOURCE_LIMITS.urlLength, { error: `must be at most ${SOURCE_LIMITS.urlLength} characters` })
  .refine(
    (text) => {
      try {
        const url = new URL(text);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
      } catch {
        return false;
      }
    },
    { error: 'must be an http(s) URL without credentials (use auth and token)' },
  );

const fields = {
  name: z.string().trim().min(1).max(SOURCE_LIMITS.nameLength),
  url: urlSchema,
  poll_interval_seconds: z.number().int().min(SOURCE_LIMITS.minIntervalSeconds).max(SOURCE_LIMITS.maxIntervalSeconds),
  entity_key: expression,
  entity_prefix: z
    .string()
    .max(SOURCE_LIMITS.prefixLength)
    .regex(/^[^/].*[^/]$|^[^/]?$/, { error: 'must not start or end with /' }),
  items_path: expression.nullable(),
  properties: propertiesSchema.nullable(),
  auth: authSchema,
  token: z.string().min(1).max(SOURCE_LIMITS.tokenLength),
  on_disappear: disappearSchema,
  paused: z.boolean(),
};

/** The body of POST /api/connectors/sources (also its OpenAPI schema). */
export const sourceCreateSchema = z.strictObject({
  ...fields,
  entity_prefix: fields.entity_prefix.optional(),
  items_path: fields.items_path.optional(),
  properties: fields.properties.optional(),
  auth: fields.auth.default('none'),
  token: fields.token.optional(),
  on_disappear: fields.on_disappear.default('keep'),
  paused: fields.paused.default(false),
});
/** The body of PATCH /api/connectors/sources/:id: any field of a source. */
export const sourceUpdateSchema = z.strictObject(fields).partial();

/** The body of POST /api/connectors/taps. */
export const tapCreateSchema = z.strictObject({
  name: fields.name.optional(),
  tap: z.string().regex(/^tap-[a-z0-9_-]{1,60}$/, { error: 'must be a tap name (tap-<name>)' }),
  config: z.record(z.string(), z.unknown()).refine((config) => JSON.stringify(config).length <= SOURCE_LIMITS.tapConfigBytes, {
    error: `must be at most ${SOURCE_LIMITS.tapConfigBytes} bytes of JSON`,
  }),
  entity_key_field: z.string().min(1).max(SOURCE_LIMITS.propertyNameLength),
  entity_prefix: fields.entity_prefix.optional(),
  stream_filter: z.array(z.string().min(1).max(SOURCE_LIMITS.propertyNameLength)).min(1).max(SOURCE_LIMITS.properties).nullable().optional(),
  poll_interval_seconds: fields.poll_interval_seconds,
  paused: fields.paused.default(false),
});

type AuthInput = z.infer<typeof authSchema>;
type DisappearInput = z.infer<typeof disappearSchema>;

export interface SourceDetail {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly poll_interval_seconds: number;
  readonly entity_key: string;
  readonly entity_prefix: string;
  readonly items_path: string | null;
  readonly properties: Readonly<Record<string, string>> | null;
  readonly auth: AuthInput;
  /** Whether a credential is stored; the credential itself is never returned. */
  readonly has_token: boolean;
  readonly on_disappear: DisappearInput;
  readonly paused: boolean;
  readonly status: 'active' | 'paused' | 'error';
  readonly last_poll: string | null;
  readonly last_error: string | null;
  readonly items_seen: number | null;
  readonly created_at: string;
  readonly updated_at: string;
  /** Set for a Singer tap (its config is never returned). */
  readonly tap?: { readonly name: string; readonly entity_key_field: string; readonly stream_filter: readonly string[] | null };
}

export interface SourceServiceOptions {
  readonly allowPrivateNetworks: boolean;
  /** Singer taps sources may run (FLUX_CONNECTOR_TAPS). */
  readonly allowedTaps?: readonly string[];
  readonly now?: () => number;
}

const secretContext = (owner: string, id: string): string => `flux-source:${owner}:${id}`;
const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
const sourceIdSchema = z.string().regex(/^[0-9a-f-]{36}$/);

/**
 * Generic HTTP sources created through the API, each owned by the caller's namespace ('' in
 * internal mode). Stored in the ControlStore, where the connector runtime of any process finds
 * them on its next scan.
 */
export class SourceService {
  private readonly now: () => number;

  constructor(
    private readonly control: ControlStore,
    private readonly vault: CredentialVault,
    private readonly options: SourceServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async list(owner: string): Promise<SourceDetail[]> {
    const sources = [...(await this.control.listSources(owner))].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    return Promise.all(sources.map((source) => this.detailOf(source)));
  }

  async get(owner: string, id: string): Promise<SourceDetail> {
    return this.detailOf(await this.require(owner, id));
  }

  async create(owner: string, body: unknown): Promise<SourceDetail> {
    const input = parse(sourceCreateSchema, body);
    if (input.auth !== 'none' && input.token === undefined)
      throw new FluxError(ErrorCode.Validation, `token: is required with auth ${JSON.stringify(input.auth)}`);
    await checkFetchTarget(new URL(input.url), this.options.allowPrivateNetworks);
    return this.add(owner, (id) => ({
      name: input.name,
      url: input.url,
      pollIntervalSeconds: input.poll_interval_seconds,
      entityKey: input.entity_key,
      entityPrefix: input.entity_prefix ?? '',
      itemsPath: input.items_path ?? null,
      properties: propertiesOf(input.properties ?? null),
      auth: authOf(input.auth),
      secret: input.token === undefined || input.auth === 'none' ? null : this.vault.seal(input.token, secretContext(owner, id)),
      onDisappear: disappearOf(input.on_disappear),
      paused: input.paused,
    }));
  }

  /** A source that runs a Singer tap on the interval; its config is sealed like a token. */
  async createTap(owner: string, body: unknown): Promise<SourceDetail> {
    const input = parse(tapCreateSchema, body);
    if (!(this.options.allowedTaps ?? []).includes(input.tap)) {
      throw new FluxError(ErrorCode.Validation, `tap: ${input.tap} is not among the taps this instance runs (FLUX_CONNECTOR_TAPS)`);
    }
    return this.add(owner, (id) => ({
      name: input.name ?? input.tap,
      url: '',
      pollIntervalSeconds: input.poll_interval_seconds,
      entityKey: '',
      entityPrefix: input.entity_prefix ?? '',
      itemsPath: null,
      properties: null,
      auth: { kind: 'none' },
      secret: this.vault.seal(JSON.stringify(input.config), secretContext(owner, id)),
      onDisappear: { kind: 'keep' },
      tap: { name: input.tap, entityKeyField: input.entity_key_field, streamFilter: input.stream_filter ?? null },
      paused: input.paused,
    }));
  }

  /** Stores a new source of the owner (within its room), `fields` built for its new id. */
  private async add(owner: string, fields: (id: string) => Omit<StoredSource, 'id' | 'owner' | 'createdAt' | 'updatedAt'>): Promise<SourceDetail> {
    await this.requireRoom(owner);
    const id = randomUUID();
    const now = this.now();
    const source: StoredSource = { id, owner, ...fields(id), createdAt: now, updatedAt: now };
    await this.control.putSource(source);
    return this.detailOf(source);
  }

  async update(owner: string, id: string, body: unknown): Promise<SourceDetail> {
    const input = parse(sourceUpdateSchema, body);
    const current = await this.require(owner, id);
    if (current.tap !== undefined) {
      const changed = Object.keys(input).filter((field) => field !== 'name' && field !== 'poll_interval_seconds' && field !== 'paused');
      if (changed.length > 0)
        throw new FluxError(ErrorCode.Validation, `${changed.join(', ')}: a tap source changes only name, poll_interval_seconds and paused`);
    }
    if (input.url !== undefined) await checkFetchTarget(new URL(input.url), this.options.allowPrivateNetworks);
    const auth = input.auth === undefined ? current.auth : authOf(input.auth);
    let secret = current.secret;
    if (input.token !== undefined) secret = this.vault.seal(input.token, secretContext(owner, id));
    if (auth.kind === 'none' && current.tap === undefined) secret = null;
    else if (auth.kind !== 'none' && secret === null)
      throw new FluxError(ErrorCode.Validation, `token: is required with auth ${JSON.stringify(input.auth)}`);
    const updated: StoredSource = {
      ...current,
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.url === undefined ? {} : { url: input.url }),
      ...(input.poll_interval_seconds === undefined ? {} : { pollIntervalSeconds: input.poll_interval_seconds }),
      ...(input.entity_key === undefined ? {} : { entityKey: input.entity_key }),
      ...(input.entity_prefix === undefined ? {} : { entityPrefix: input.entity_prefix }),
      ...(input.items_path === undefined ? {} : { itemsPath: input.items_path }),
      ...(input.properties === undefined ? {} : { properties: propertiesOf(input.properties) }),
      ...(input.on_disappear === undefined ? {} : { onDisappear: disappearOf(input.on_disappear) }),
      ...(input.paused === undefined ? {} : { paused: input.paused }),
      auth,
      secret,
      // Strictly increasing: the runtime polls a changed source at once.
      updatedAt: Math.max(this.now(), current.updatedAt + 1),
    };
    await this.control.putSource(updated);
    return this.detailOf(updated);
  }

  async delete(owner: string, id: string): Promise<void> {
    if (!(await this.control.deleteSource(owner, parseId(id)))) throw notFound(id);
    // The remembered keys and validators are of no use any more.
    await this.control.putConnectorState(owner, sourceStateName(id), { lastPoll: null, lastError: null, consecutiveFailures: 0, cursors: {} });
  }

  /** The decrypted credential ('' when none), for the connector runtime only. */
  secretOf(source: StoredSource): string {
    return source.secret === null ? '' : this.vault.open(source.secret, secretContext(source.owner, source.id));
  }

  private async requireRoom(owner: string): Promise<void> {
    if ((await this.control.listSources(owner)).length >= SOURCE_LIMITS.perOwner) {
      throw new FluxError(ErrorCode.Conflict, `at most ${SOURCE_LIMITS.perOwner} sources per namespace; delete one first`);
    }
  }

  private async require(owner: string, id: string): Promise<StoredSource> {
    const source = await this.control.getSource(owner, parseId(id));
    if (source === undefined) throw notFound(id);
    return source;
  }

  private async detailOf(source: StoredSource): Promise<SourceDetail> {
    const state = await this.control.getConnectorState(source.owner, sourceStateName(source.id));
    // A state recorded for an older version of the source still shows until the next poll.
    const lastError = state?.lastError ?? null;
    return {
      id: source.id,
      name: source.name,
      url: source.url,
      poll_interval_seconds: source.pollIntervalSeconds,
      entity_key: source.entityKey,
      entity_prefix: source.entityPrefix,
      items_path: source.itemsPath,
      properties: source.properties,
      auth: authInputOf(source.auth),
      has_token: source.secret !== null,
      on_disappear: disappearInputOf(source.onDisappear),
      paused: source.paused,
      status: source.paused ? 'paused' : lastError !== null ? 'error' : 'active',
      last_poll: iso(state?.lastPoll),
      last_error: lastError,
      items_seen: state?.itemsSeen ?? null,
      created_at: new Date(source.createdAt).toISOString(),
      updated_at: new Date(source.updatedAt).toISOString(),
      ...(source.tap === undefined
        ? {}
        : { tap: { name: source.tap.name, entity_key_field: source.tap.entityKeyField, stream_filter: source.tap.streamFilter } }),
    };
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new FluxError(ErrorCode.Validation, formatIssues(parsed.error.issues));
  return parsed.data;
}

const notFound = (id: string): FluxError => new FluxError(ErrorCode.NotFound, `no source ${JSON.stringify(id.slice(0, 64))}`);

function parseId(id: string): string {
  if (!sourceIdSchema.safeParse(id).success) throw notFound(id);
  return id;
}

/** A whitelist becomes `name → $["name"]` (RFC 9535 string literals take JSON's escapes). */
function propertiesOf(input: readonly string[] | Readonly<Record<string, string>> | null): Readonly<Record<string, string>> | null {
  if (input === null) return null;
  if (!Array.isArray(input)) return input as Readonly<Record<string, string>>;
  return Object.fromEntries(input.map((name) => [name, `$[${JSON.stringify(name)}]`]));
}

function authOf(input: AuthInput): SourceAuth {
  return typeof input === 'string' ? { kind: input } : { kind: 'header', name: input.header.toLowerCase() };
}

const authInputOf = (auth: SourceAuth): AuthInput => (auth.kind === 'header' ? { header: auth.name } : auth.kind);

function disappearOf(input: DisappearInput): DisappearPolicy {
  return typeof input === 'string' ? { kind: input } : { kind: 'mark', property: input.mark };
}

const disappearInputOf = (policy: DisappearPolicy): DisappearInput => (policy.kind === 'mark' ? { mark: policy.property } : policy.kind);
