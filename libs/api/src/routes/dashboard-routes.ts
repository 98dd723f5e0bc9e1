import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { ErrorCode, FluxError } from '@flux/domain';

/**
 * Where `npm run build:dashboard` writes the dashboard of libs/dashboard. It is found by path,
 * not imported: what the server needs is the browser build, not a module.
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

export interface DashboardOptions {
  /** The built dashboard, `index.html` and `assets/` (default DASHBOARD_DIR). */
  readonly root?: string;
  /** Public mode: the page then asks for namespace tokens where the API needs them. */
  readonly publicMode: boolean;
}

/** Asset names carry a hash of their content, so a browser may keep them for good. */
const ASSET_MAX_AGE_MS = 365 * 24 * 60 * 60 * 1000;

/** The mode marker of the built index.html, filled in per deployment (no inline script may carry it). */
const MODE_MARKER = '<meta name="flux-mode" content="internal"';

/** A Host header that is a plain host name or address with an optional port, safe to repeat in a header. */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The page's policy: its own scripts, styles and images only (no inline script or style, no
 * eval), requests and WebSockets to its own origin, never framed. `'self'` does not cover
 * ws:/wss: in every browser, so the WebSocket of the host the page was loaded from is named.
 */
export function dashboardContentSecurityPolicy(host: string | undefined): string {
  const sockets = host !== undefined && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const NOT_BUILT = 'the dashboard is not built: run `npm run build:dashboard` on the server (the API works without it)';

/**
 * The dashboard at `/`: index.html is read on each request (it is small, never cached, and a
 * rebuild then needs no restart) and its hashed assets under `/assets/` are served with a long
 * cache lifetime. Neither is part of the OpenAPI document. Without a build, `/` answers 404 in
 * the usual error shape and the server runs on.
 */
export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const root = options.root ?? DASHBOARD_DIR;
  const indexPath = join(root, 'index.html');
  const mode = options.publicMode ? 'public' : 'internal';
  const readIndex = async (): Promise<string | undefined> => {
    try {
      return (await readFile(indexPath, 'utf8')).replace(MODE_MARKER, `<meta name="flux-mode" content="${mode}"`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  if ((await readIndex()) === undefined) app.log.warn({ root }, `${NOT_BUILT}; / answers 404 until then`);

  app.get('/', { schema: { hide: true } }, async (request: FastifyRequest, reply) => {
    const page = await readIndex();
    if (page === undefined) throw new FluxError(ErrorCode.NotFound, NOT_BUILT);
    return reply
      .header('Content-Security-Policy', dashboardContentSecurityPolicy(request.headers.host))
      .header('Cache-Control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(page);
  });
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    dotfiles: 'deny',
    maxAge: ASSET_MAX_AGE_MS,
    immutable: true,
  });
}
