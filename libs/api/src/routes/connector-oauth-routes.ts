import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorCode, FluxError } from '@flux/domain';
import { MAX_OAUTH_CODE_LENGTH } from '@flux/core';
import type { QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { credentialOwnerOf } from '../http/principal.js';
import { parseInput } from '../http/input.js';
import { nameParams } from './connector-routes.js';

const callbackQuery = z.object({
  /** Checked (shape and length) by the OAuth service, so every bad state gets one code. */
  state: z.string().optional(),
  code: z.string().max(MAX_OAUTH_CODE_LENGTH).optional(),
  /** Set by the provider when the user declined (access_denied, ...). */
  error: z.string().max(256).optional(),
});

/** JSON for clients that ask for it (CLIs, scripts); the browser flow gets a redirect or a page. */
const wantsJson = (request: FastifyRequest): boolean => /application\/json/i.test(request.headers.accept ?? '');

const SUCCESS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flux: GitHub connected</title></head>
<body><h1>GitHub connected</h1><p>Flux stored the credential; the GitHub connector polls with it now. You may close this page.</p></body></html>
`;

/** The OAuth authorization-code flow of built-in connectors (GitHub). */
export function connectorOAuthRoutes(app: FastifyInstance, deps: QueryDeps): void {
  app.get(
    '/api/connectors/:name/oauth/start',
    {
      schema: routeDoc({
        summary: 'Start the OAuth authorization of a connector (GitHub): redirects to the provider',
        description:
          'Answers 302 to the provider’s authorize URL, or 200 `{authorize_url}` when the request accepts application/json. ' +
          'The pending authorization (state and PKCE verifier) expires after 10 minutes; in public mode the caller’s namespace owns the resulting credential.',
        tags: ['connectors'],
        params: nameParams,
        responses: {
          200: { description: 'The authorize URL (Accept: application/json)', schema: z.object({ authorize_url: z.string() }) },
          302: { description: 'Redirect to the provider (Location header)', schema: z.string(), contentType: 'text/plain' },
          400: 'Invalid connector name',
          401: 'Namespace token required (public mode)',
          404: 'Unknown connector, or OAuth not configured (FLUX_OAUTH_NOT_CONFIGURED)',
        },
      }),
    },
    async (request, reply) => {
      const { name } = parseInput(nameParams, request.params, 'path');
      const owner = await credentialOwnerOf(deps, request);
      const authorizeUrl = await deps.oauth.start(owner, name);
      if (wantsJson(request)) return { authorize_url: authorizeUrl };
      return reply.header('cache-control', 'no-store').redirect(authorizeUrl, 302);
    },
  );

  app.get(
    '/api/connectors/:name/oauth/callback',
    {
      schema: routeDoc({
        summary: 'Finish the OAuth authorization: exchanges the code and stores the credential',
        description: 'The provider redirects the user here. The state is single use; the page never shows the token.',
        tags: ['connectors'],
        params: nameParams,
        querystring: callbackQuery,
        responses: {
          200: {
            description: 'Stored (HTML page, or `{success: true}` with Accept: application/json)',
            schema: z.object({ success: z.literal(true) }),
          },
          400: 'state unknown, expired or reused (FLUX_OAUTH_STATE_INVALID), code missing, or the user declined',
          404: 'Unknown connector, or OAuth not configured (FLUX_OAUTH_NOT_CONFIGURED)',
          500: 'No FLUX_ENCRYPTION_KEY configured',
          502: 'The provider refused the code exchange (FLUX_OAUTH_EXCHANGE_FAILED)',
        },
      }),
    },
    async (request, reply) => {
      const { name } = parseInput(nameParams, request.params, 'path');
      const query = parseInput(callbackQuery, request.query, 'query');
      if (query.error !== undefined) throw new FluxError(ErrorCode.Validation, `the provider did not authorize: ${query.error}`);
      await deps.oauth.complete(name, query.state, query.code);
      if (wantsJson(request)) return { success: true };
      return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(SUCCESS_PAGE);
    },
  );
}
